using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace VApicActors.Host.Cli;

/// <summary>
/// Files named on the command line: whether an output file can be written before any work starts, writing it at
/// the end, and why a file could not be used, in words that name the path. Every output file (a trace, a
/// <c>--json</c> report, an <c>--output</c> file) is written the same way: the folders above it that do not exist
/// yet are created (<see cref="CreateFolders"/>).
/// </summary>
public static class CommandLineFiles
{
    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> name one file (through <c>.</c>, <c>..</c> and symbolic
    /// links to it), so that a command can refuse to write its output over its own input. <c>-</c> (standard input or
    /// output) is no file.
    /// </summary>
    public static bool SameFile(string? a, string? b)
    {
        if (a is null || b is null || a == "-" || b == "-")
        {
            return false;
        }
        var comparison = OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        if (FinalPath(a) is not { } x || FinalPath(b) is not { } y)
        {
            return false;
        }
        // Two names of one file (hard links) differ in every spelling: the file system's identity of each tells them.
        return string.Equals(x, y, comparison) || (FileIdentity(x) is { } ix && FileIdentity(y) is { } iy && ix == iy);

        static string? FinalPath(string path)
        {
            try
            {
                var full = Path.GetFullPath(path);
                return File.Exists(full) ? File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full : full;
            }
            catch (Exception e) when (IsFileError(e))
            {
                return null;
            }
        }
    }

    /// <summary>
    /// The device and inode numbers of the file at <paramref name="path"/> (following symbolic links), on 64-bit Linux;
    /// null elsewhere, or when the file cannot be examined (it does not exist yet, say).
    /// </summary>
    private static (ulong Device, ulong Inode)? FileIdentity(string path)
    {
        if (!OperatingSystem.IsLinux()
            || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return null;
        }
        try
        {
            // struct stat on x86-64 and arm64 Linux begins with st_dev and st_ino, 64 bits each; the buffer holds all of it.
            var buffer = new byte[StatBufferBytes];
            return Stat(path, buffer) == 0
                ? (BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(0)), BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(sizeof(ulong))))
                : null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null; // a C library without stat as a symbol (before glibc 2.33): the paths alone decide
        }
    }

    private const int StatBufferBytes = 256;

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);

    /// <summary>
    /// Creates the folders above <paramref name="path"/> that do not exist yet; returns those it created, the
    /// outermost first (empty when the file's folder was already there). Throws what creating a folder throws (a
    /// file where a folder should be, no permission).
    /// </summary>
    public static IReadOnlyList<string> CreateFolders(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var missing = new List<string>();
        for (var folder = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(folder) && !Directory.Exists(folder);
            folder = Path.GetDirectoryName(folder))
        {
            missing.Insert(0, folder);
        }
        if (missing.Count > 0)
        {
            Directory.CreateDirectory(missing[^1]);
        }
        return missing;
    }

    /// <summary>
    /// Null when a file can be written at <paramref name="path"/> (created with the folders above it that are
    /// missing, or an existing one replaced); otherwise why not. Leaves nothing behind: an existing file is opened
    /// without being changed, and a file or folder that did not exist is removed again.
    /// </summary>
    public static string? CannotWrite(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            return IsADirectory(path);
        }
        var existed = File.Exists(path);
        IReadOnlyList<string> created = [];
        try
        {
            created = CreateFolders(path);
            using (new FileStream(path, existed ? FileMode.Open : FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
            }
            if (!existed)
            {
                File.Delete(path);
            }
            return null;
        }
        catch (Exception e) when (IsFileError(e))
        {
            return WriteReason(path, e);
        }
        finally
        {
            RemoveFolders(created);
        }
    }

    /// <summary>
    /// Writes <paramref name="text"/> to <paramref name="path"/>, creating the folders above it that are missing;
    /// null when written, otherwise why not.
    /// </summary>
    public static async Task<string?> TryWriteAllTextAsync(string path, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            CreateFolders(path);
            await File.WriteAllTextAsync(path, text, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (IsFileError(e))
        {
            return WriteReason(path, e);
        }
    }

    /// <summary>
    /// Why <paramref name="path"/> could not be read: a directory is named as one, a missing file (or folder above it)
    /// is "no such file" as every command says it, otherwise the exception's message.
    /// </summary>
    public static string ReadReason(string path, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Directory.Exists(path))
        {
            return IsADirectory(path);
        }
        return exception is FileNotFoundException or DirectoryNotFoundException ? "no such file" : exception.Message;
    }

    /// <summary>
    /// Why <paramref name="path"/> could not be written: an empty name as one (not .NET's "The value cannot be an empty
    /// string. (Parameter 'path')"), a directory is named as one, a file where one of the folders above it should be as
    /// such, a file the file system will not create (e.g. under /proc) as such, otherwise the exception's message.
    /// </summary>
    public static string WriteReason(string path, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (string.IsNullOrEmpty(path))
        {
            return "the file name is empty";
        }
        if (Directory.Exists(path))
        {
            return IsADirectory(path);
        }
        if (FileAbove(path) is string file)
        {
            return $"'{file}' is a file, not a folder";
        }
        return exception is FileNotFoundException ? $"'{path}' cannot be created" : exception.Message;
    }

    /// <summary>The nearest existing entry above <paramref name="path"/>, when it is a file rather than a folder.</summary>
    private static string? FileAbove(string path)
    {
        try
        {
            for (var above = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(above); above = Path.GetDirectoryName(above))
            {
                if (Directory.Exists(above))
                {
                    return null;
                }
                if (File.Exists(above))
                {
                    return above;
                }
            }
        }
        catch (Exception e) when (IsFileError(e))
        {
            // A path that cannot even be taken apart: the exception's own message says why.
        }
        return null;
    }

    /// <summary>Removes the folders <see cref="CreateFolders"/> created (innermost first) as long as they are empty.</summary>
    private static void RemoveFolders(IReadOnlyList<string> created)
    {
        for (var i = created.Count - 1; i >= 0; i--)
        {
            try
            {
                Directory.Delete(created[i]);
            }
            catch (Exception e) when (IsFileError(e))
            {
                return; // not empty (something else wrote there meanwhile), or gone: leave the rest as it is
            }
        }
    }

    /// <summary>The exceptions a file named by the user may throw when it is opened, read or written.</summary>
    public static bool IsFileError(Exception exception) =>
        exception is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or System.Security.SecurityException;

    private static string IsADirectory(string path) => $"'{path}' is a directory, not a file";
}

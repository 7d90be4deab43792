namespace VApicActors.Host.Cli;

/// <summary>
/// Files named on the command line: whether an output file can be written before any work starts, writing it at
/// the end, and why a file could not be used, in words that name the path.
/// </summary>
public static class CommandLineFiles
{
    /// <summary>
    /// Null when a file can be written at <paramref name="path"/> (created, or an existing one replaced); otherwise
    /// why not. Leaves nothing behind: an existing file is opened without being changed, and a file that did not
    /// exist is removed again.
    /// </summary>
    public static string? CannotWrite(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            return IsADirectory(path);
        }
        var existed = File.Exists(path);
        try
        {
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
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/>; null when written, otherwise why not.</summary>
    public static async Task<string?> TryWriteAllTextAsync(string path, string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            await File.WriteAllTextAsync(path, text, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (IsFileError(e))
        {
            return WriteReason(path, e);
        }
    }

    /// <summary>Why <paramref name="path"/> could not be read: a directory is named as one, otherwise the exception's message.</summary>
    public static string ReadReason(string path, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return Directory.Exists(path) ? IsADirectory(path) : exception.Message;
    }

    /// <summary>
    /// Why <paramref name="path"/> could not be written: a directory is named as one, a file the file system will
    /// not create (e.g. under /proc) as such, otherwise the exception's message.
    /// </summary>
    public static string WriteReason(string path, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Directory.Exists(path))
        {
            return IsADirectory(path);
        }
        return exception is FileNotFoundException ? $"'{path}' cannot be created" : exception.Message;
    }

    /// <summary>The exceptions a file named by the user may throw when it is opened, read or written.</summary>
    public static bool IsFileError(Exception exception) =>
        exception is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or System.Security.SecurityException;

    private static string IsADirectory(string path) => $"'{path}' is a directory, not a file";
}

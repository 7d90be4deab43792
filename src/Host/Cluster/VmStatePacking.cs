using System.IO.Compression;
using System.Text;
using VApicActors.Actors;
using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Cluster;

/// <summary>
/// A VM's state as the cluster moves and stores it: the save/restore document (<c>docs/state-format.md</c>),
/// gzip-compressed. Pages are mostly zeros, so a 64-vCPU VM packs into a few kilobytes.
/// </summary>
public static class VmStatePacking
{
    public static byte[] Pack(VmState state)
    {
        var json = Encoding.UTF8.GetBytes(VmStateFile.ToJson(state));
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(json);
        }
        return output.ToArray();
    }

    /// <exception cref="InvalidDataException">The bytes are not a packed VM state.</exception>
    public static VmState Unpack(byte[] packed)
    {
        using var input = new GZipStream(new MemoryStream(packed), CompressionMode.Decompress);
        using var reader = new StreamReader(input, Encoding.UTF8);
        return VmStateFile.FromJson(reader.ReadToEnd());
    }
}

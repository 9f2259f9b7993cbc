#nullable enable
using System.Net.Sockets;
using System.Security.Cryptography;
using MLStyle.Files;
using Mono.Unix.Native;

namespace MLStyle.Tests.Safety;

/// <summary>Snapshots of a directory tree (kinds and SHA-256 of regular files, links not followed) and odd file-system entries.</summary>
public static class FileTree
{
    /// <summary>Every entry under <paramref name="root"/> (recursively, not through links): its kind, and its hash for regular files.</summary>
    public static SortedDictionary<string, string> Snapshot(string root)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var e in Directory.EnumerateFileSystemEntries(dir))
            {
                var kind = SafePaths.KindOf(e);
                var rel = Path.GetRelativePath(root, e);
                if (kind == FileKind.Directory) { result[rel] = "dir"; pending.Push(e); }
                else if (kind == FileKind.Regular) result[rel] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(e)));
                else if (kind == FileKind.SymbolicLink) result[rel] = "link->" + new FileInfo(e).LinkTarget;
                else result[rel] = "special";
            }
        }
        return result;
    }

    /// <summary>Asserts that every entry of <paramref name="before"/> is still there, unchanged (new entries are allowed).</summary>
    public static void AssertUnchanged(IReadOnlyDictionary<string, string> before, string root)
    {
        var after = Snapshot(root);
        foreach (var (rel, value) in before)
        {
            Assert.True(after.TryGetValue(rel, out var now), $"'{rel}' disappeared");
            Assert.True(now == value, $"'{rel}' changed: {value} -> {now}");
        }
    }

    /// <summary>Creates a FIFO (opening it for reading would block until a writer comes).</summary>
    public static string Fifo(string path)
    {
        Assert.Equal(0, Syscall.mkfifo(path, FilePermissions.S_IRUSR | FilePermissions.S_IWUSR));
        return path;
    }

    /// <summary>Creates a Unix domain socket file (left bound until the returned socket is disposed).</summary>
    public static Socket UnixSocket(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Bind(new UnixDomainSocketEndPoint(path));
        return s;
    }

    /// <summary>Creates a hard link <paramref name="link"/> to <paramref name="target"/>.</summary>
    public static void HardLink(string target, string link) => Assert.Equal(0, Syscall.link(target, link));

    /// <summary>True when running as root (some file-system setups, like a small tmpfs, need it).</summary>
    public static bool IsRoot => Syscall.geteuid() == 0;
}

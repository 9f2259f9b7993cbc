using Mono.Unix.Native;

namespace MLStyle.Files;

/// <summary>What a path names, as seen without following a final symbolic link (<c>lstat</c>).</summary>
public enum FileKind
{
    /// <summary>Nothing exists at the path.</summary>
    Missing,

    /// <summary>A regular file.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link (whatever it points to, even nothing).</summary>
    SymbolicLink,

    /// <summary>A FIFO, socket, character or block device: never opened by MLStyle.</summary>
    Special,
}

/// <summary>The identity of a file on its file system: two paths name the same file exactly when these are equal.</summary>
/// <param name="Device">The device (file system) the file lives on.</param>
/// <param name="Inode">The file's inode number on that device.</param>
internal readonly record struct FileIdentity(ulong Device, ulong Inode);

/// <summary>
/// The one place where MLStyle decides whether two paths are the same file, whether a path is inside a directory, and
/// whether a path may be read or written. Every "same file" and "inside" check of the library and the CLI goes through
/// it, and so should every new command (training, applying a model, batches).
/// <list type="bullet">
/// <item><see cref="Canonical"/> resolves symbolic links on every existing component (in order, as the kernel does, so
/// <c>link/..</c> is the link target's parent) and <c>.</c>/<c>..</c>; the missing tail of a path is kept as written.</item>
/// <item><see cref="SameFile"/> compares canonical paths and, for existing files, (device, inode), so hard links and
/// bind mounts are caught too.</item>
/// <item><see cref="CheckReadable"/> accepts only regular files (following links): FIFOs, sockets and devices are never
/// opened, since opening a FIFO blocks forever and reading a device never ends.</item>
/// <item><see cref="CheckWritable"/> refuses an output that is a symbolic link or anything but a regular file
/// (a device, FIFO, socket or directory), and any output that is the same file as one of the run's inputs.</item>
/// </list>
/// </summary>
public static class SafePaths
{
    const int MaxLinks = 40; // as Linux's MAXSYMLINKS

    static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// The absolute path with every symbolic link of its existing components resolved and <c>.</c>/<c>..</c> applied in
    /// the order the file system would apply them. Components after the first missing one are kept lexically. No trailing
    /// separator (except for the root).
    /// </summary>
    /// <exception cref="MLStyleException">The path is empty or invalid, or has a cycle of symbolic links.</exception>
    public static string Canonical(string path)
    {
        string full = Absolute(path);
        if (OperatingSystem.IsWindows()) return WindowsCanonical(full);

        var pending = new Stack<string>(full.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var parts = new List<string>();
        int links = 0;
        bool missing = false;
        while (pending.Count > 0)
        {
            string c = pending.Pop();
            if (c == ".") continue;
            if (c == "..")
            {
                if (parts.Count > 0) parts.RemoveAt(parts.Count - 1);
                continue;
            }
            string candidate = "/" + string.Join('/', parts.Append(c));
            if (!missing && Syscall.lstat(candidate, out var st) == 0)
            {
                if ((st.st_mode & FilePermissions.S_IFMT) == FilePermissions.S_IFLNK)
                {
                    if (++links > MaxLinks) throw new MLStyleException($"'{path}': too many levels of symbolic links");
                    string? target = new FileInfo(candidate).LinkTarget;
                    if (target is null) { parts.Add(c); continue; }
                    if (target.StartsWith('/')) parts.Clear();
                    foreach (var t in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(t);
                    continue;
                }
            }
            else missing = true;
            parts.Add(c);
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>What <paramref name="path"/> names, without following a final symbolic link.</summary>
    public static FileKind KindOf(string path) => Kind(path, follow: false);

    /// <summary>What <paramref name="path"/> names after following symbolic links (a dangling link is <see cref="FileKind.Missing"/>).</summary>
    public static FileKind TargetKindOf(string path) => Kind(path, follow: true);

    /// <summary>The (device, inode) of the file a path names after following links; null when nothing is there.</summary>
    internal static FileIdentity? Identity(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        string full = Absolute(path);
        return Syscall.stat(full, out var st) == 0 ? new FileIdentity(st.st_dev, st.st_ino) : null;
    }

    /// <summary>True when both paths name the same file or directory: equal canonical paths, or equal (device, inode).</summary>
    public static bool SameFile(string a, string b)
    {
        if (string.Equals(Canonical(a), Canonical(b), PathComparison)) return true;
        var ia = Identity(a);
        return ia is not null && ia == Identity(b);
    }

    /// <summary>
    /// True when <paramref name="path"/> is <paramref name="directory"/> itself or anywhere below it, comparing canonical
    /// paths and the identities of the path's existing ancestors (so a bind mount or a second name of the directory counts).
    /// </summary>
    public static bool IsSameOrInside(string path, string directory)
    {
        string p = Canonical(path), d = Canonical(directory);
        if (IsLexicallyInside(p, d)) return true;
        var dirId = Identity(d);
        if (dirId is null) return false;
        for (string? a = p; a is not null; a = Path.GetDirectoryName(a))
            if (Identity(a) == dirId) return true;
        return false;
    }

    /// <summary>True when canonical path <paramref name="path"/> equals or lies under canonical <paramref name="directory"/> (no file-system access).</summary>
    public static bool IsLexicallyInside(string path, string directory)
    {
        if (string.Equals(path, directory, PathComparison)) return true;
        string prefix = directory.EndsWith('/') || directory.EndsWith(Path.DirectorySeparatorChar) ? directory : directory + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, PathComparison);
    }

    /// <summary>
    /// Checks that <paramref name="path"/> may be opened for reading: it exists and is (after following links) a regular
    /// file. FIFOs, sockets and devices are refused without being opened.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="what">How errors name the file, e.g. <c>image</c> or <c>model file</c>.</param>
    /// <exception cref="MLStyleException">Missing, a directory, or not a regular file (one line).</exception>
    public static void CheckReadable(string path, string what)
    {
        switch (TargetKindOf(path))
        {
            case FileKind.Regular: return;
            case FileKind.Missing: throw new MLStyleException($"{what} '{path}' does not exist");
            case FileKind.Directory: throw new MLStyleException($"{what} '{path}' is a directory, not a file");
            default: throw new MLStyleException($"{what} '{path}' is not a regular file (a device, FIFO or socket): it is not read");
        }
    }

    /// <summary>
    /// Checks that an output may be written at <paramref name="path"/>: nothing is there yet or a regular file that is
    /// none of <paramref name="inputs"/>. A symbolic link, a directory, a device, a FIFO or a socket at the path is
    /// refused (an atomic write would replace it), and so is any path that names one of the run's inputs, however it is
    /// spelled (<c>..</c>, symbolic links, hard links).
    /// </summary>
    /// <param name="path">The output path.</param>
    /// <param name="inputs">Every file the run reads (content, styles, init image, model, guide…); null entries are ignored.</param>
    /// <exception cref="MLStyleException">The output would overwrite an input or a non-regular file (one line).</exception>
    public static void CheckWritable(string path, IEnumerable<string?> inputs)
    {
        CheckWritableKind(path);
        foreach (var input in inputs)
            if (input is not null && KindOf(input) != FileKind.Missing && SameFile(path, input))
                throw new MLStyleException($"refusing to write '{path}': it is the input '{input}' of this run");
    }

    /// <summary>Refuses an output path where a symbolic link or a non-regular file (directory, device, FIFO, socket) exists.</summary>
    /// <exception cref="MLStyleException">One line naming the path and what is there.</exception>
    public static void CheckWritableKind(string path)
    {
        switch (KindOf(path))
        {
            case FileKind.Missing or FileKind.Regular: return;
            case FileKind.SymbolicLink: throw new MLStyleException($"refusing to write '{path}': it is a symbolic link (give the real path)");
            case FileKind.Directory: throw new MLStyleException($"refusing to write '{path}': it is a directory");
            default: throw new MLStyleException($"refusing to write '{path}': it is not a regular file (a device, FIFO or socket)");
        }
    }

    /// <summary>Refuses two outputs of one run that are the same file (e.g. <c>--plot</c> equal to <c>--output</c>).</summary>
    /// <exception cref="MLStyleException">One line naming both.</exception>
    public static void CheckDistinct(IEnumerable<(string Path, string Name)> outputs)
    {
        var list = outputs.ToList();
        for (int i = 0; i < list.Count; i++)
            for (int j = i + 1; j < list.Count; j++)
                if (SameFile(list[i].Path, list[j].Path))
                    throw new MLStyleException($"{list[i].Name} and {list[j].Name} are the same file '{list[i].Path}'");
    }

    static FileKind Kind(string path, bool follow)
    {
        string full = Absolute(path);
        if (OperatingSystem.IsWindows())
        {
            if (Directory.Exists(full)) return FileKind.Directory;
            return File.Exists(full) ? FileKind.Regular : FileKind.Missing;
        }
        int rc = follow ? Syscall.stat(full, out var st) : Syscall.lstat(full, out st);
        if (rc != 0) return FileKind.Missing;
        return (st.st_mode & FilePermissions.S_IFMT) switch
        {
            FilePermissions.S_IFREG => FileKind.Regular,
            FilePermissions.S_IFDIR => FileKind.Directory,
            FilePermissions.S_IFLNK => FileKind.SymbolicLink,
            _ => FileKind.Special,
        };
    }

    static string Absolute(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0')) throw new MLStyleException("invalid path: empty or with a NUL character");
        string full = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        return OperatingSystem.IsWindows() ? Path.GetFullPath(full) : full;
    }

    static string WindowsCanonical(string full)
    {
        var info = new FileInfo(full);
        var target = info.Exists || Directory.Exists(full) ? info.ResolveLinkTarget(returnFinalTarget: true) : null;
        return Path.TrimEndingDirectorySeparator(target?.FullName ?? full);
    }
}

using Microsoft.Extensions.FileSystemGlobbing.Abstractions;
using MLStyle.Files;

namespace MLStyle.Batch;

/// <summary>
/// The walk of a batch's input directory (see <see cref="BatchInputs"/>): lists entries without opening any file, never
/// enters the output directory, follows symbolic links only when asked (then never into the output and never into a
/// directory already visited), and records what it leaves out. The tree it builds is what the glob matcher sees, so file
/// names are taken as they are (a <c>\</c> in a Linux file name is part of the name).
/// </summary>
internal sealed class InputWalk
{
    /// <summary>A file found by the walk: its full path, and why it is skipped (null: it is a regular file to process).</summary>
    internal sealed record Entry(string FullPath, string? Skip);

    readonly string _output;
    readonly FileIdentity? _outputId;
    readonly bool _followLinks;
    readonly HashSet<FileIdentity> _visited = new();
    readonly HashSet<string> _visitedPaths = new(StringComparer.Ordinal);

    public InputWalk(string input, string output, bool followLinks)
    {
        Root = new WalkedDirectory("", input, null);
        _output = SafePaths.Canonical(output);
        _outputId = SafePaths.Identity(output);
        _followLinks = followLinks;
    }

    /// <summary>The walked tree, for the glob matcher.</summary>
    public WalkedDirectory Root { get; }

    /// <summary>Every file found, by its path relative to the input (forward slashes).</summary>
    public Dictionary<string, Entry> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>Directories left out: symbolic links not followed, cycles, unreadable directories.</summary>
    public List<SkippedInput> SkippedDirectories { get; } = new();

    /// <summary>A relative path with forward slashes (only Windows' separator is replaced: on Linux <c>\</c> is a file-name character).</summary>
    public static string Portable(string relative) => Path.DirectorySeparatorChar == '/' ? relative : relative.Replace(Path.DirectorySeparatorChar, '/');

    public void Run()
    {
        Visit(Root.FullName);
        var pending = new Stack<(WalkedDirectory Dir, string Rel)>();
        pending.Push((Root, ""));
        while (pending.Count > 0)
        {
            var (dir, rel) = pending.Pop();
            IEnumerable<FileSystemInfo> entries;
            try
            {
                entries = new DirectoryInfo(dir.FullName).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (dir == Root) throw new MLStyleException($"cannot list '{dir.FullName}': {e.Message.ReplaceLineEndings(" ").TrimEnd('.')}", e);
                SkippedDirectories.Add(new SkippedInput(rel + "/", "the directory cannot be listed"));
                continue;
            }
            foreach (var e in entries)
            {
                string childRel = rel.Length == 0 ? e.Name : rel + "/" + e.Name;
                string full = Path.Combine(dir.FullName, e.Name);
                var kind = SafePaths.KindOf(full);
                if (kind == FileKind.SymbolicLink)
                {
                    var target = SafePaths.TargetKindOf(full);
                    if (target == FileKind.Directory)
                    {
                        if (!_followLinks) SkippedDirectories.Add(new SkippedInput(childRel + "/", "symbolic link to a directory, not followed (links are followed only when asked)"));
                        else if (IsOutput(full)) SkippedDirectories.Add(new SkippedInput(childRel + "/", "symbolic link into the output directory"));
                        else if (!Visit(full)) SkippedDirectories.Add(new SkippedInput(childRel + "/", "symbolic link to a directory already searched (a cycle or a second link)"));
                        else Enter(dir, e.Name, full, childRel, pending);
                        continue;
                    }
                    string? skip = !_followLinks ? "symbolic link, not followed (links are followed only when asked)"
                        : target == FileKind.Missing ? "dangling symbolic link"
                        : target != FileKind.Regular ? "symbolic link to something that is not a regular file (a device, FIFO or socket): not opened"
                        : SafePaths.IsSameOrInside(full, _output) ? "symbolic link into the output directory"
                        : null;
                    AddFile(dir, e.Name, full, childRel, skip);
                }
                else if (kind == FileKind.Directory)
                {
                    if (IsOutput(full)) continue; // the output is never searched
                    if (!Visit(full)) { SkippedDirectories.Add(new SkippedInput(childRel + "/", "a directory already searched (a bind mount or cycle)")); continue; }
                    Enter(dir, e.Name, full, childRel, pending);
                }
                else if (kind == FileKind.Regular) AddFile(dir, e.Name, full, childRel, null);
                else if (kind == FileKind.Special) AddFile(dir, e.Name, full, childRel, "not a regular file (a FIFO, socket or device): not opened");
            }
        }
    }

    void Enter(WalkedDirectory parent, string name, string full, string rel, Stack<(WalkedDirectory, string)> pending)
    {
        var child = new WalkedDirectory(name, full, parent);
        parent.Children.Add(child);
        pending.Push((child, rel));
    }

    void AddFile(WalkedDirectory dir, string name, string full, string rel, string? skip)
    {
        dir.Children.Add(new WalkedFile(name, full, dir));
        Files[rel] = new Entry(full, skip);
    }

    bool IsOutput(string dir)
    {
        if (SafePaths.IsLexicallyInside(SafePaths.Canonical(dir), _output)) return true;
        return _outputId is not null && SafePaths.Identity(dir) == _outputId;
    }

    /// <summary>Marks a directory as searched; false when it was already.</summary>
    bool Visit(string dir) =>
        SafePaths.Identity(dir) is { } id ? _visited.Add(id) : _visitedPaths.Add(SafePaths.Canonical(dir));

    /// <summary>A directory of the walked tree, as the glob matcher sees it.</summary>
    internal sealed class WalkedDirectory(string name, string fullName, WalkedDirectory? parent) : DirectoryInfoBase
    {
        public List<FileSystemInfoBase> Children { get; } = new();
        public override string Name => name;
        public override string FullName => fullName;
        public override DirectoryInfoBase? ParentDirectory => parent;
        public override IEnumerable<FileSystemInfoBase> EnumerateFileSystemInfos() => Children;
        public override DirectoryInfoBase? GetDirectory(string path) =>
            path == ".." ? parent : Children.OfType<WalkedDirectory>().FirstOrDefault(d => string.Equals(d.Name, path, StringComparison.Ordinal));
        public override FileInfoBase? GetFile(string path) =>
            Children.OfType<WalkedFile>().FirstOrDefault(f => string.Equals(f.Name, path, StringComparison.Ordinal));
    }

    /// <summary>A file of the walked tree, as the glob matcher sees it.</summary>
    internal sealed class WalkedFile(string name, string fullName, WalkedDirectory parent) : FileInfoBase
    {
        public override string Name => name;
        public override string FullName => fullName;
        public override DirectoryInfoBase? ParentDirectory => parent;
    }
}

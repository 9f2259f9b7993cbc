using Microsoft.Extensions.FileSystemGlobbing;
using MLStyle.Files;

namespace MLStyle.Batch;

/// <summary>One image of a batch.</summary>
/// <param name="InputPath">Absolute path of the input image.</param>
/// <param name="RelativePath">Path relative to the input directory, with forward slashes (the manifest's key).</param>
/// <param name="OutputPath">Absolute path of the output image.</param>
public sealed record BatchItem(string InputPath, string RelativePath, string OutputPath)
{
    /// <summary>The output path relative to the output directory, with forward slashes.</summary>
    public string RelativeOutput(string outputDirectory) => InputWalk.Portable(Path.GetRelativePath(outputDirectory, OutputPath));
}

/// <summary>A file under the input directory that a batch leaves out, and why (one line).</summary>
/// <param name="RelativePath">Path relative to the input directory, with forward slashes.</param>
/// <param name="Reason">Why it is not processed, e.g. a FIFO or a symbolic link that is not followed.</param>
public sealed record SkippedInput(string RelativePath, string Reason);

/// <summary>What <see cref="BatchInputs.Scan"/> found: the images to process and the matching files it will not open.</summary>
/// <param name="Items">The images, in ordinal order of their relative paths.</param>
/// <param name="Skipped">Matching entries that are not regular files (FIFOs, sockets, devices), or symbolic links not followed.</param>
public sealed record BatchDiscovery(IReadOnlyList<BatchItem> Items, IReadOnlyList<SkippedInput> Skipped);

/// <summary>
/// Finds the images of a batch: every regular file under the input directory (recursively) matching an include glob and
/// no exclude glob, in ordinal path order, with an output path that mirrors the input tree (<c>IN/sub/a.jpg</c> →
/// <c>OUT/sub/a.png</c>).
/// <para>The walk never enters the output directory (however it is reached: <c>..</c>, symbolic or hard links, bind
/// mounts), never opens a FIFO, socket or device (they are reported in <see cref="BatchDiscovery.Skipped"/>), and does not
/// follow symbolic links unless asked; when it follows them it still never enters the output and never visits a
/// directory twice (no cycles). Globs may not leave the input directory (<c>..</c>, absolute paths).</para>
/// <para>Output names: <c>a.jpg</c> → <c>a.png</c>; when several inputs would get the same name (compared ignoring case),
/// each of them keeps its extension (<c>a.jpg.png</c>, <c>a.png.png</c>), repeated until no two outputs collide; a
/// collision that remains (names differing only in case) fails up front in one line. No output may be an existing input.</para>
/// </summary>
public static class BatchInputs
{
    /// <summary>The default include globs: the formats <see cref="Imaging.ImageIO.Load"/> reads, matched case-insensitively.</summary>
    public static IReadOnlyList<string> DefaultIncludes { get; } =
        ["**/*.png", "**/*.jpg", "**/*.jpeg", "**/*.webp", "**/*.gif", "**/*.bmp"];

    /// <summary>The output formats: <c>png</c> (lossless, the default) or <c>jpg</c>.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["png", "jpg"];

    /// <summary>Lists the images of a batch (see <see cref="Scan"/>; skipped entries are dropped).</summary>
    /// <exception cref="MLStyleException">As <see cref="Scan"/>.</exception>
    public static IReadOnlyList<BatchItem> Discover(string inputDirectory, string outputDirectory, string format = "png",
        IReadOnlyList<string>? include = null, IReadOnlyList<string>? exclude = null, bool followLinks = false) =>
        Scan(inputDirectory, outputDirectory, format, include, exclude, followLinks).Items;

    /// <summary>Lists the images of a batch and the matching entries it leaves out.</summary>
    /// <param name="inputDirectory">The directory searched recursively.</param>
    /// <param name="outputDirectory">Where outputs go; when it is inside the input directory it is never searched. It may not be the input or contain it.</param>
    /// <param name="format"><c>png</c> or <c>jpg</c>: the output file extension.</param>
    /// <param name="include">Include globs (Microsoft.Extensions.FileSystemGlobbing syntax: <c>**</c>, <c>*</c>, relative to the
    /// input directory, case-insensitive); null or empty for <see cref="DefaultIncludes"/>.</param>
    /// <param name="exclude">Exclude globs; a file matching one is left out.</param>
    /// <param name="followLinks">Follow symbolic links (to files and directories, even outside the input), still never into the output and never twice into one directory.</param>
    /// <exception cref="MLStyleException">The input directory is missing, is or contains the output directory, a glob leaves
    /// the input, a format is unknown, two outputs collide, or an output is an input.</exception>
    public static BatchDiscovery Scan(string inputDirectory, string outputDirectory, string format = "png",
        IReadOnlyList<string>? include = null, IReadOnlyList<string>? exclude = null, bool followLinks = false)
    {
        if (string.IsNullOrWhiteSpace(inputDirectory)) throw new MLStyleException("no input directory given");
        if (string.IsNullOrWhiteSpace(outputDirectory)) throw new MLStyleException("no output directory given");
        var kind = SafePaths.TargetKindOf(inputDirectory);
        if (kind is FileKind.Regular or FileKind.Special) throw new MLStyleException($"input '{inputDirectory}' is a file, not a directory");
        if (kind != FileKind.Directory) throw new MLStyleException($"input directory '{inputDirectory}' does not exist");
        var input = Path.GetFullPath(inputDirectory);
        var output = Path.GetFullPath(outputDirectory);
        if (SafePaths.SameFile(input, output)) throw new MLStyleException("the output directory must differ from the input directory");
        if (SafePaths.IsSameOrInside(input, output))
            throw new MLStyleException($"the input directory '{inputDirectory}' is inside the output directory '{outputDirectory}': outputs could overwrite inputs");
        var ext = format.Trim().ToLowerInvariant() switch
        {
            "png" => ".png",
            "jpg" or "jpeg" => ".jpg",
            _ => throw new MLStyleException($"unknown output format '{format}': use png or jpg"),
        };
        var includes = include is { Count: > 0 } ? include : DefaultIncludes;
        foreach (var glob in includes.Concat(exclude ?? []))
            if (EscapesRoot(glob)) throw new MLStyleException($"glob '{glob}' leaves the input directory: globs are relative to the input directory and may not use '..' or absolute paths");

        var walk = new InputWalk(input, output, followLinks);
        walk.Run();
        var matcher = new Matcher(StringComparison.OrdinalIgnoreCase);
        matcher.AddIncludePatterns(includes);
        if (exclude is not null) matcher.AddExcludePatterns(exclude);
        var matched = matcher.Execute(walk.Root).Files.Select(f => f.Path).Where(p => !IsTemporary(p)).ToHashSet(StringComparer.Ordinal);

        var files = walk.Files.Where(f => matched.Contains(f.Key)).OrderBy(f => f.Key, StringComparer.Ordinal).ToList();
        var skipped = files.Where(f => f.Value.Skip is not null).Select(f => new SkippedInput(f.Key, f.Value.Skip!))
            .Concat(walk.SkippedDirectories).OrderBy(s => s.RelativePath, StringComparer.Ordinal).ToList();
        var rels = files.Where(f => f.Value.Skip is null).Select(f => f.Key).ToList();
        var names = OutputNames(rels, ext);
        var items = rels.Select(rel => new BatchItem(walk.Files[rel].FullPath, rel, Path.GetFullPath(Path.Combine(output, names[rel])))).ToList();
        CheckOutputsAreNotInputs(items);
        return new BatchDiscovery(items, skipped);
    }

    /// <summary>
    /// The output name of every input (relative, forward slashes): its extension replaced by <paramref name="ext"/>, or,
    /// for inputs whose names would collide (ignoring case), the whole input name plus <paramref name="ext"/>, repeated until
    /// nothing collides.
    /// </summary>
    /// <exception cref="MLStyleException">Two inputs cannot get distinct output names.</exception>
    public static IReadOnlyDictionary<string, string> OutputNames(IReadOnlyList<string> relativeInputs, string ext)
    {
        var names = relativeInputs.ToDictionary(r => r, r => Path.ChangeExtension(r, ext), StringComparer.Ordinal);
        while (true)
        {
            var clashes = names.GroupBy(kv => kv.Value, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).ToList();
            if (clashes.Count == 0) return names;
            bool changed = false;
            foreach (var rel in clashes.SelectMany(g => g.Select(kv => kv.Key)).ToList())
                if (names[rel] != rel + ext) { names[rel] = rel + ext; changed = true; }
            if (!changed)
            {
                var g = clashes[0].Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
                throw new MLStyleException($"inputs '{g[0]}' and '{g[1]}' would both be written to '{clashes[0].Key}' (output names ignore case): rename or exclude one of them");
            }
        }
    }

    static void CheckOutputsAreNotInputs(IReadOnlyList<BatchItem> items)
    {
        var inputs = new Dictionary<FileIdentity, string>();
        foreach (var item in items)
            if (SafePaths.Identity(item.InputPath) is { } id) inputs.TryAdd(id, item.RelativePath);
        foreach (var item in items)
            if (SafePaths.KindOf(item.OutputPath) != FileKind.Missing && SafePaths.Identity(item.OutputPath) is { } id && inputs.TryGetValue(id, out var rel))
                throw new MLStyleException($"refusing to write '{item.OutputPath}': it is the input '{rel}' (a hard link or another name of it)");
    }

    static bool EscapesRoot(string glob) =>
        Path.IsPathRooted(glob) || glob.StartsWith('/') || glob.StartsWith('\\') || glob.Split('/', '\\').Any(seg => seg == "..");

    /// <summary>True for the temporary files of atomic writes (<c>.name.tmp-&lt;guid&gt;</c>).</summary>
    public static bool IsTemporary(string path)
    {
        var name = Path.GetFileName(path);
        return name.StartsWith('.') && name.Contains(".tmp-", StringComparison.Ordinal);
    }
}

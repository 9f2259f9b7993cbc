using Microsoft.Extensions.FileSystemGlobbing;
using Microsoft.Extensions.FileSystemGlobbing.Abstractions;

namespace MLStyle.Batch;

/// <summary>One image of a batch.</summary>
/// <param name="InputPath">Absolute path of the input image.</param>
/// <param name="RelativePath">Path relative to the input directory, with forward slashes (the manifest's key).</param>
/// <param name="OutputPath">Absolute path of the output image.</param>
public sealed record BatchItem(string InputPath, string RelativePath, string OutputPath)
{
    /// <summary>The output path relative to the output directory, with forward slashes.</summary>
    public string RelativeOutput(string outputDirectory) => Path.GetRelativePath(outputDirectory, OutputPath).Replace('\\', '/');
}

/// <summary>
/// Finds the images of a batch: every file under the input directory (recursively) matching an include glob and no
/// exclude glob, in ordinal path order, with an output path that mirrors the input tree (<c>IN/sub/a.jpg</c> →
/// <c>OUT/sub/a.png</c>).
/// </summary>
public static class BatchInputs
{
    /// <summary>The default include globs: the formats <see cref="Imaging.ImageIO.Load"/> reads, matched case-insensitively.</summary>
    public static IReadOnlyList<string> DefaultIncludes { get; } =
        ["**/*.png", "**/*.jpg", "**/*.jpeg", "**/*.webp", "**/*.gif", "**/*.bmp"];

    /// <summary>The output formats: <c>png</c> (lossless, the default) or <c>jpg</c>.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["png", "jpg"];

    /// <summary>Lists the images of a batch.</summary>
    /// <param name="inputDirectory">The directory searched recursively.</param>
    /// <param name="outputDirectory">Where outputs go; when it is inside the input directory it is never searched.</param>
    /// <param name="format"><c>png</c> or <c>jpg</c>: the output file extension.</param>
    /// <param name="include">Include globs (Microsoft.Extensions.FileSystemGlobbing syntax: <c>**</c>, <c>*</c>, relative to the
    /// input directory, case-insensitive); null or empty for <see cref="DefaultIncludes"/>.</param>
    /// <param name="exclude">Exclude globs; a file matching one is left out.</param>
    /// <exception cref="MLStyleException">The input directory is missing, equals the output directory, or a format is unknown.</exception>
    /// <remarks>When two inputs map to the same output (<c>a.jpg</c> and <c>a.png</c>), each keeps its extension in the output name
    /// (<c>a.jpg.png</c>, <c>a.png.png</c>).</remarks>
    public static IReadOnlyList<BatchItem> Discover(string inputDirectory, string outputDirectory, string format = "png",
        IReadOnlyList<string>? include = null, IReadOnlyList<string>? exclude = null)
    {
        if (string.IsNullOrWhiteSpace(inputDirectory)) throw new MLStyleException("no input directory given");
        if (string.IsNullOrWhiteSpace(outputDirectory)) throw new MLStyleException("no output directory given");
        var input = Path.GetFullPath(inputDirectory);
        var output = Path.GetFullPath(outputDirectory);
        if (File.Exists(input)) throw new MLStyleException($"input '{inputDirectory}' is a file, not a directory");
        if (!Directory.Exists(input)) throw new MLStyleException($"input directory '{inputDirectory}' does not exist");
        if (PathsEqual(input, output)) throw new MLStyleException("the output directory must differ from the input directory");
        var ext = format.Trim().ToLowerInvariant() switch
        {
            "png" => ".png",
            "jpg" or "jpeg" => ".jpg",
            _ => throw new MLStyleException($"unknown output format '{format}': use png or jpg"),
        };

        var matcher = new Matcher(StringComparison.OrdinalIgnoreCase);
        matcher.AddIncludePatterns(include is { Count: > 0 } ? include : DefaultIncludes);
        if (exclude is not null) matcher.AddExcludePatterns(exclude);
        var outputInside = Path.GetRelativePath(input, output).Replace('\\', '/');
        if (!outputInside.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(outputInside))
            matcher.AddExclude(outputInside + "/**");

        List<string> files;
        try
        {
            files = matcher.Execute(new DirectoryInfoWrapper(new DirectoryInfo(input))).Files
                .Select(f => f.Path.Replace('\\', '/'))
                .Where(p => !IsTemporary(p))
                .Distinct(StringComparer.Ordinal)
                .OrderBy(p => p, StringComparer.Ordinal)
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MLStyleException($"cannot list '{inputDirectory}': {e.Message.ReplaceLineEndings(" ").TrimEnd('.')}", e);
        }

        var items = new List<BatchItem>(files.Count);
        foreach (var group in files.GroupBy(f => Path.ChangeExtension(f, ext), StringComparer.OrdinalIgnoreCase))
        {
            bool clash = group.Count() > 1;
            foreach (var rel in group)
            {
                var outRel = clash ? rel + ext : Path.ChangeExtension(rel, ext);
                items.Add(new BatchItem(Path.Combine(input, rel), rel, Path.GetFullPath(Path.Combine(output, outRel))));
            }
        }
        items.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        return items;
    }

    /// <summary>True for the temporary files of atomic writes (<c>.name.tmp-&lt;guid&gt;</c>).</summary>
    public static bool IsTemporary(string path)
    {
        var name = Path.GetFileName(path);
        return name.StartsWith('.') && name.Contains(".tmp-", StringComparison.Ordinal);
    }

    static bool PathsEqual(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b),
            OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}

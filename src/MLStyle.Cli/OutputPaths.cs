using MLStyle;
using MLStyle.Files;

namespace MLStyle.Cli;

/// <summary>Checks on output paths, made before long work starts.</summary>
public static class OutputPaths
{
    static readonly string[] ImageExtensions = { ".png", ".jpg", ".jpeg", ".webp" };

    /// <summary>Fails fast when the output's directory is missing or its format is unsupported.</summary>
    public static void CheckWritable(string path, bool imageOutput)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new MLStyleException($"output directory '{dir}' does not exist");
        if (imageOutput && !ImageExtensions.Contains(Path.GetExtension(full).ToLowerInvariant()))
            throw new MLStyleException($"unsupported output format '{Path.GetExtension(full)}' for '{path}': use .png or .jpg");
        if (!imageOutput && Path.GetExtension(full).ToLowerInvariant() != ".png")
            throw new MLStyleException($"plots are written as .png: '{path}'");
        try
        {
            var probe = Path.Combine(dir, $".mlstyle-write-test-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, Array.Empty<byte>());
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MLStyleException($"cannot write to '{dir}': {e.Message}");
        }
    }

    /// <summary>
    /// Checks every output of a run against every input before any work (<see cref="SafePaths.CheckWritable"/>): no output
    /// may be an input (however spelled: <c>..</c>, symbolic or hard links), a symbolic link or a non-regular file, and no
    /// two outputs may be the same file.
    /// </summary>
    /// <param name="inputs">Every file the run reads; null entries and non-files (e.g. <c>resnet18</c>) are ignored.</param>
    /// <param name="outputs">Each output path with the option that names it (null paths are ignored).</param>
    public static void CheckRun(IEnumerable<string?> inputs, params (string? Path, string Option)[] outputs)
    {
        var files = inputs.Where(i => i is not null && SafePaths.TargetKindOf(i) == FileKind.Regular).ToList();
        var given = outputs.Where(o => o.Path is not null).Select(o => (o.Path!, o.Option)).ToList();
        foreach (var (path, _) in given) SafePaths.CheckWritable(path, files);
        SafePaths.CheckDistinct(given);
    }

    /// <summary>The model file a <c>--model</c> value names, or null for a built-in name.</summary>
    public static string? ModelFile(string model) => File.Exists(model) ? model : null;

    /// <summary>The path of an intermediate snapshot: out.png → out.iter100.png.</summary>
    public static string Snapshot(string output, int iteration) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, $"{Path.GetFileNameWithoutExtension(output)}.iter{iteration}{Path.GetExtension(output)}");
}

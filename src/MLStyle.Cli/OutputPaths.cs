using MLStyle;

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

    /// <summary>The path of an intermediate snapshot: out.png → out.iter100.png.</summary>
    public static string Snapshot(string output, int iteration) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, $"{Path.GetFileNameWithoutExtension(output)}.iter{iteration}{Path.GetExtension(output)}");
}

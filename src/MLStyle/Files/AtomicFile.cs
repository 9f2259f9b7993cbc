#nullable enable
namespace MLStyle.Files;

/// <summary>
/// Writes files atomically: the content goes to a hidden temporary file in the destination's
/// directory (<c>.name.tmp-&lt;guid&gt;</c>), is flushed to disk, and then replaces the destination with a
/// single rename. Readers never see a half-written file, and a failed write leaves any existing
/// file untouched and no temporary file behind. Only a regular file is ever replaced: a symbolic link, directory,
/// device, FIFO or socket at the destination is refused (<see cref="SafePaths.CheckWritableKind"/>), before writing and
/// again just before the rename.
/// </summary>
public static class AtomicFile
{
    /// <summary>Atomically writes <paramref name="path"/> with whatever <paramref name="write"/> puts into the stream.</summary>
    /// <param name="path">Destination file; its directory must exist. An existing regular file is replaced.</param>
    /// <param name="write">Callback that writes the whole content to the given stream.</param>
    /// <exception cref="MLStyleException">The directory is missing or the file cannot be written (one-line message).</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = CheckDestination(path);
        string dir = Path.GetDirectoryName(fullPath)!;
        string temp = Path.Combine(dir, $".{Path.GetFileName(fullPath)}.tmp-{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            SafePaths.CheckWritableKind(path);
            File.Move(temp, fullPath, overwrite: true);
        }
        catch (Exception ex)
        {
            TryDelete(temp);
            if (ex is MLStyleException) throw;
            if (ex is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
                throw new MLStyleException($"cannot write '{path}': {OneLine(ex.Message)}", ex);
            throw;
        }
    }

    /// <summary>Atomically writes <paramref name="bytes"/> to <paramref name="path"/>.</summary>
    /// <param name="path">Destination file; its directory must exist. An existing file is replaced.</param>
    /// <param name="bytes">The complete file content.</param>
    /// <exception cref="MLStyleException">The directory is missing or the file cannot be written.</exception>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy, 0, copy.Length));
    }

    /// <summary>
    /// Validates an output path (non-empty, directory exists, not a directory itself) and returns it
    /// as an absolute path.
    /// </summary>
    /// <exception cref="MLStyleException">The path is invalid or its directory does not exist.</exception>
    internal static string CheckDestination(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new MLStyleException("cannot write file: the output path is empty");
        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new MLStyleException($"cannot write '{path}': invalid path ({OneLine(ex.Message)})", ex);
        }
        SafePaths.CheckWritableKind(path);
        string? dir = Path.GetDirectoryName(fullPath);
        if (string.IsNullOrEmpty(dir) || !Directory.Exists(dir))
            throw new MLStyleException($"cannot write '{path}': directory '{dir}' does not exist");
        return fullPath;
    }

    internal static string OneLine(string message)
    {
        string s = message.ReplaceLineEndings(" ").Trim();
        return s.EndsWith('.') ? s[..^1] : s;
    }

    private static void TryDelete(string file)
    {
        try
        {
            if (File.Exists(file)) File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: nothing more we can do.
        }
    }
}

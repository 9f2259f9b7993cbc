#nullable enable
namespace MLStyle.Imaging;

/// <summary>
/// Thrown when an image file cannot be loaded or probed: missing, empty, not an image, truncated,
/// corrupt, or larger than the allowed pixel count. The message is one line naming the file and the problem.
/// </summary>
public class ImageLoadException : MLStyleException
{
    /// <summary>Creates the exception for <paramref name="path"/> with a one-line message.</summary>
    /// <param name="path">The image path as given by the caller.</param>
    /// <param name="message">One line naming the file and the problem.</param>
    /// <param name="innerException">Optional underlying cause.</param>
    public ImageLoadException(string path, string message, Exception? innerException = null)
        : base(message, innerException!)
    {
        FilePath = path;
    }

    /// <summary>The path of the image that failed to load, as given by the caller.</summary>
    public string FilePath { get; }
}

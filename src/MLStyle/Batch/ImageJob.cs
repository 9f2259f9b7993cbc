using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLStyle.Imaging;
using MLStyle.Runtime;

namespace MLStyle.Batch;

/// <summary>
/// What a batch does to every image: one input image in, one output image and its metrics out.
/// A job is shared by all workers; each worker gets its own <see cref="IImageJobWorker"/> (and so its own ONNX Runtime
/// sessions) from <see cref="CreateWorker"/>.
/// </summary>
public interface IImageJob
{
    /// <summary>Short name of the job (<c>stylize</c>, <c>dream</c>), written to the manifest.</summary>
    string Kind { get; }

    /// <summary>
    /// Everything that decides the output besides the input image, as canonical JSON: the engine options, the hashes of
    /// any auxiliary images (style images), the seed. Two runs with equal <see cref="Options"/> and model hash produce the
    /// same output for the same input; the batch's options hash is computed from it.
    /// </summary>
    JsonObject Options { get; }

    /// <summary>The random seed (also part of <see cref="Options"/>).</summary>
    int Seed { get; }

    /// <summary>Short name of the model (e.g. <c>resnet18</c>).</summary>
    string ModelName { get; }

    /// <summary>A stable hash of the model's weights and graph (<see cref="Backbones.Backbone.Hash"/>).</summary>
    string ModelHash { get; }

    /// <summary>Creates a worker with its own sessions, running with these session settings (device, threads).</summary>
    IImageJobWorker CreateWorker(SessionSettings settings);
}

/// <summary>One worker of an <see cref="IImageJob"/>: processes one image at a time; owns its native resources.</summary>
public interface IImageJobWorker : IDisposable
{
    /// <summary>Processes one image.</summary>
    /// <param name="input">The loaded input image (upright RGB, 0–255).</param>
    /// <param name="progress">Receives the fraction done, 0–1.</param>
    /// <param name="cancel">Stops the work by throwing <see cref="OperationCanceledException"/>.</param>
    ImageJobResult Run(ImageTensor input, IProgress<double>? progress, CancellationToken cancel);
}

/// <summary>The result of one image of a job.</summary>
/// <param name="Image">The output image (for a diverged run: the last good image).</param>
/// <param name="Losses">The final value of each loss term, by name (e.g. total, content, style, tv).</param>
/// <param name="LossCurves">Each loss term per iteration, for plots.</param>
/// <param name="Iterations">Iterations run.</param>
/// <param name="Elapsed">Wall time of the image.</param>
/// <param name="PeakMemoryBytes">The process's peak working set when the image finished.</param>
/// <param name="Diverged">True when the optimisation produced NaN/Inf and stopped.</param>
/// <param name="StopReason">Why the optimisation stopped.</param>
public sealed record ImageJobResult(
    ImageTensor Image,
    IReadOnlyDictionary<string, double> Losses,
    IReadOnlyDictionary<string, IReadOnlyList<double>> LossCurves,
    int Iterations,
    TimeSpan Elapsed,
    long PeakMemoryBytes,
    bool Diverged,
    string StopReason)
{
    /// <summary>True when the optimisation ran but did not lower the loss (see <see cref="Engines.StyleTransferResult.Stalled"/>): the image fails.</summary>
    public bool NoProgress { get; init; }
}

/// <summary>Hashes used by batches and manifests.</summary>
public static class ContentHash
{
    /// <summary>The lower-case hex SHA-256 of a file's bytes.</summary>
    /// <exception cref="ImageLoadException">The file cannot be read.</exception>
    public static string OfFile(string path)
    {
        if (Files.SafePaths.TargetKindOf(path) != Files.FileKind.Regular)
            throw new ImageLoadException(path, $"cannot read '{path}': not a regular file");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageLoadException(path, $"cannot read '{path}': {e.Message.ReplaceLineEndings(" ").TrimEnd('.')}", e);
        }
    }

    /// <summary>The lower-case hex SHA-256 of the compact UTF-8 JSON of <paramref name="node"/>.</summary>
    public static string OfJson(JsonNode node) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(node.ToJsonString(new JsonSerializerOptions { WriteIndented = false }))))
            .ToLowerInvariant();
}

using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Onnx;
using MLStyle.Runtime;

namespace MLStyle.ML;

/// <summary>
/// Chooses where an <see cref="MLContext"/> runs ONNX models: ML.NET's own <c>ApplyOnnxModel</c> steps (including those
/// inside models loaded with <c>Model.Load</c>) and the sessions MLStyle's components use while fitting.
/// </summary>
public static class MLContextDeviceExtensions
{
    static readonly ConditionalWeakTable<object, SessionSettings> Choices = new();

    /// <summary>
    /// Runs this context's ONNX models on <paramref name="device"/> (<c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>). When the CUDA
    /// provider cannot be loaded (no GPU, no CUDA 13, or the CPU-only ONNX Runtime package), the context falls back to the
    /// CPU and logs one warning on <see cref="MLContext.Log"/>. Call it before building pipelines (ML.NET creates ONNX
    /// sessions when estimators are created and when models are loaded). Prefer this to <see cref="MLContext.GpuDeviceId"/>,
    /// whose fallback does not catch the CPU-only package's missing entry point.
    /// </summary>
    /// <param name="mlContext">The context.</param>
    /// <param name="device"><c>cpu</c> (default), <c>cuda</c> or <c>cuda:N</c>.</param>
    /// <param name="threads">Intra-op threads per session; 0 lets ONNX Runtime choose.</param>
    /// <returns>The device actually used.</returns>
    /// <example>
    /// <code>
    /// var ml = new MLContext(seed: 1);
    /// ml.Log += (_, e) => { if (e.Kind == ChannelMessageKind.Warning) Console.Error.WriteLine(e.Message); };
    /// var device = ml.UseOnnxDevice("cuda");   // cuda:0, or cpu with a warning
    /// </code>
    /// </example>
    public static ExecutionDevice UseOnnxDevice(this MLContext mlContext, string device = "cpu", int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), "threads must be 0 or more");
        var requested = ExecutionDevice.Parse(device);
        var resolved = requested;
        if (requested.IsCuda && SessionFactory.ProbeCuda(requested.DeviceId) is { } failure)
        {
            resolved = ExecutionDevice.Cpu;
            using var ch = ((IChannelProvider)mlContext).Start("MLStyle");
            ch.Warning(MessageSensitivity.None, $"CUDA device {requested.DeviceId} is not available ({failure}); running ONNX models on the CPU");
        }
        var settings = new SessionSettings { Device = resolved, Threads = threads };
        mlContext.SetOnnxSessionOption(new OnnxSessionOptions { CreateSessionOptions = () => SessionFactory.CreateOptions(settings) });
        foreach (var key in new object[] { mlContext, mlContext.Transforms, mlContext.MulticlassClassification.Trainers })
            Choices.AddOrUpdate(key, settings);
        return resolved;
    }

    /// <summary>The session settings chosen for the context that owns <paramref name="catalog"/> (default: CPU).</summary>
    internal static SessionSettings SettingsFor(object catalog) =>
        Choices.TryGetValue(catalog, out var s) ? s : SessionSettings.Default;
}

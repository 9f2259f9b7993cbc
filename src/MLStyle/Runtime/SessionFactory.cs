using Microsoft.ML.OnnxRuntime;

namespace MLStyle.Runtime;

/// <summary>Settings for creating ONNX Runtime sessions.</summary>
public sealed record SessionSettings
{
    /// <summary>The requested device (default CPU). CUDA falls back to the CPU with one warning when it is not available.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>Intra-op threads; 0 lets ONNX Runtime choose (one per physical core). At most <see cref="MaxThreads"/>.</summary>
    public int Threads { get; init; }

    /// <summary>Write an ONNX Runtime profile (per-node times, JSON) with this path prefix when set; see <see cref="OnnxSession.EndProfiling"/>.</summary>
    public string? ProfilePrefix { get; init; }

    /// <summary>The most threads a session may ask for: 4 per core, at least 64 (more only costs memory and time).</summary>
    public static int MaxThreads => Math.Max(64, 4 * Environment.ProcessorCount);

    /// <summary>Checks <see cref="Threads"/>.</summary>
    /// <exception cref="MLStyleException">Negative or above <see cref="MaxThreads"/> (one line).</exception>
    public void Validate()
    {
        if (Threads < 0 || Threads > MaxThreads)
            throw new MLStyleException($"invalid thread count {Threads}: must be 0 (one per core) to {MaxThreads}");
    }

    /// <summary>The default settings.</summary>
    public static SessionSettings Default { get; } = new();
}

/// <summary>Creates <see cref="SessionOptions"/> for a device, with a clean fallback from CUDA to the CPU.</summary>
public static class SessionFactory
{
    static readonly object Gate = new();
    static readonly Dictionary<int, string?> CudaProbe = new();

    /// <summary>Raised once per process and device when CUDA was requested but is not available.</summary>
    public static event Action<string>? Warning;

    /// <summary>The device a request actually resolves to (CUDA only when its provider loads).</summary>
    public static ExecutionDevice Resolve(ExecutionDevice requested)
    {
        if (!requested.IsCuda) return requested;
        var failure = ProbeCuda(requested.DeviceId);
        return failure is null ? requested : ExecutionDevice.Cpu;
    }

    /// <summary>Why CUDA device <paramref name="id"/> cannot be used, or null when it can.</summary>
    public static string? ProbeCuda(int id)
    {
        lock (Gate)
        {
            if (CudaProbe.TryGetValue(id, out var known)) return known;
            string? failure = null;
            // ONNX Runtime's own logger would print a red error line when the CUDA provider library fails to load; the
            // user gets one MLStyle warning instead, so the environment's logger is silenced while probing.
            OrtEnv? env = null;
            var level = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING;
            try
            {
                env = OrtEnv.Instance();
                level = env.EnvLogLevel;
                env.EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
                using var so = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
                so.AppendExecutionProvider_CUDA(id);
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException or TypeInitializationException)
            {
                failure = e.Message.Split('\n')[0].Trim();
            }
            finally
            {
                if (env is not null) env.EnvLogLevel = level;
            }
            CudaProbe[id] = failure;
            if (failure is not null)
                Warning?.Invoke($"CUDA device {id} is not available ({Shorten(failure)}); running on the CPU");
            return failure;
        }
    }

    static string Shorten(string s) => s.Length > 160 ? s[..160] + "…" : s;

    /// <summary>Session options for the given settings (caller disposes).</summary>
    public static SessionOptions CreateOptions(SessionSettings settings)
    {
        settings.Validate();
        var device = Resolve(settings.Device);
        var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // ONNX Runtime's own log lines would precede (and duplicate) the one error line MLStyle prints for a model it
            // rejects: its failures arrive as exceptions, so only fatal messages are logged.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (settings.Threads > 0)
        {
            so.IntraOpNumThreads = settings.Threads;
            so.InterOpNumThreads = 1;
        }
        if (settings.ProfilePrefix is { } prefix)
        {
            so.ProfileOutputPathPrefix = prefix; // read when profiling is enabled, so first
            so.EnableProfiling = true;
        }
        if (device.IsCuda) so.AppendExecutionProvider_CUDA(device.DeviceId);
        return so;
    }
}

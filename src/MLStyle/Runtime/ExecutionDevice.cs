namespace MLStyle.Runtime;

/// <summary>Where ONNX Runtime runs a model: the CPU, or a CUDA GPU by id.</summary>
public readonly record struct ExecutionDevice(bool IsCuda, int DeviceId)
{
    /// <summary>The CPU.</summary>
    public static ExecutionDevice Cpu => new(false, 0);

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>; anything else is an <see cref="MLStyleException"/>.</summary>
    public static ExecutionDevice Parse(string? text)
    {
        var t = (text ?? "cpu").Trim().ToLowerInvariant();
        if (t is "cpu" or "") return Cpu;
        if (t is "cuda" or "gpu") return new(true, 0);
        if ((t.StartsWith("cuda:") || t.StartsWith("gpu:")) && int.TryParse(t[(t.IndexOf(':') + 1)..], out var id) && id >= 0) return new(true, id);
        throw new MLStyleException($"invalid device '{text}': use cpu, cuda or cuda:N");
    }

    /// <inheritdoc />
    public override string ToString() => IsCuda ? $"cuda:{DeviceId}" : "cpu";
}

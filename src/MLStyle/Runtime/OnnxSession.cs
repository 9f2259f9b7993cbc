using System.Buffers;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using MLStyle.Onnx;
using Google.Protobuf;

namespace MLStyle.Runtime;

/// <summary>A float tensor passed to or returned from a session: data plus shape.</summary>
public sealed record FloatTensor(float[] Data, long[] Shape)
{
    /// <summary>Creates a tensor, checking that the shape matches the data length.</summary>
    public static FloatTensor Of(float[] data, params long[] shape)
    {
        if (shape.Aggregate(1L, (a, b) => a * b) != data.Length) throw new ArgumentException($"shape [{string.Join(",", shape)}] does not hold {data.Length} values");
        return new FloatTensor(data, shape);
    }
}

/// <summary>
/// An ONNX Runtime session over a model MLStyle built or loaded. Owns the native session; dispose it.
/// </summary>
public sealed class OnnxSession : IDisposable
{
    readonly InferenceSession _session;
    readonly RunOptions _runOptions = new();

    /// <summary>The device the session runs on (after any fallback).</summary>
    public ExecutionDevice Device { get; }

    /// <summary>Creates a session from a model (its anonymous dynamic input dimensions get names first, see <see cref="GraphTransforms.NameDynamicDimensions"/>).</summary>
    public OnnxSession(ModelProto model, SessionSettings? settings = null) : this(Named(model).ToByteArray(), settings) { }

    static ModelProto Named(ModelProto model)
    {
        GraphTransforms.NameDynamicDimensions(model);
        return model;
    }

    /// <summary>Creates a session from serialised ONNX bytes.</summary>
    public OnnxSession(byte[] modelBytes, SessionSettings? settings = null)
    {
        settings ??= SessionSettings.Default;
        Device = SessionFactory.Resolve(settings.Device);
        using var so = SessionFactory.CreateOptions(settings);
        try { _session = new InferenceSession(modelBytes, so); }
        catch (OnnxRuntimeException e) { throw new ModelException($"ONNX Runtime rejected the model: {OnnxModels.FirstLine(e.Message)}", e); }
    }

    /// <summary>Names of the model's inputs.</summary>
    public IReadOnlyList<string> InputNames => _session.InputNames;

    /// <summary>Names of the model's outputs.</summary>
    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    /// <summary>Runs the model on float inputs and returns the requested outputs (copied into managed arrays).</summary>
    public Dictionary<string, FloatTensor> Run(IReadOnlyDictionary<string, FloatTensor> inputs, IReadOnlyList<string>? outputs = null)
    {
        outputs ??= OutputNames;
        var names = inputs.Keys.ToArray();
        var values = new OrtValue[names.Length];
        try
        {
            for (int i = 0; i < names.Length; i++)
            {
                var t = inputs[names[i]];
                values[i] = OrtValue.CreateTensorValueFromMemory(t.Data, t.Shape);
            }
            using var results = _session.Run(_runOptions, names, values, outputs);
            var dict = new Dictionary<string, FloatTensor>();
            int k = 0;
            foreach (var r in results)
            {
                var info = r.GetTensorTypeAndShape();
                dict[outputs[k++]] = new FloatTensor(r.GetTensorDataAsSpan<float>().ToArray(), info.Shape);
            }
            return dict;
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"running the model failed: {OnnxModels.FirstLine(e.Message)}", e);
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    /// <summary>
    /// Binds inputs and outputs to fixed managed buffers once, for a loop that runs the same shapes many times
    /// without copies or allocations (the buffers are pinned for the binding's lifetime).
    /// </summary>
    public BoundRun Bind(IReadOnlyDictionary<string, FloatTensor> inputs, IReadOnlyDictionary<string, FloatTensor> outputs) =>
        new(this, inputs, outputs);

    internal void RunBound(string[] inNames, OrtValue[] inValues, string[] outNames, OrtValue[] outValues)
    {
        try { _session.Run(_runOptions, inNames, inValues, outNames, outValues); }
        catch (OnnxRuntimeException e) { throw new ModelException($"running the model failed: {OnnxModels.FirstLine(e.Message)}", e); }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}

/// <summary>A session run whose inputs and outputs live in fixed managed buffers. Dispose it before the session.</summary>
public sealed class BoundRun : IDisposable
{
    readonly OnnxSession _session;
    readonly string[] _inNames, _outNames;
    readonly OrtValue[] _inValues, _outValues;

    internal BoundRun(OnnxSession session, IReadOnlyDictionary<string, FloatTensor> inputs, IReadOnlyDictionary<string, FloatTensor> outputs)
    {
        _session = session;
        _inNames = inputs.Keys.ToArray();
        _outNames = outputs.Keys.ToArray();
        _inValues = _inNames.Select(n => OrtValue.CreateTensorValueFromMemory(inputs[n].Data, inputs[n].Shape)).ToArray();
        _outValues = _outNames.Select(n => OrtValue.CreateTensorValueFromMemory(outputs[n].Data, outputs[n].Shape)).ToArray();
    }

    /// <summary>Runs the model: reads the input buffers, writes the output buffers.</summary>
    public void Run() => _session.RunBound(_inNames, _inValues, _outNames, _outValues);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var v in _inValues) v.Dispose();
        foreach (var v in _outValues) v.Dispose();
    }
}

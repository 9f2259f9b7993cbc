using MLStyle.Onnx;
using Onnx;

namespace MLStyle.Autodiff;

/// <summary>What a gradient rule sees: the forward node, the gradients of its outputs, and which inputs need gradients.</summary>
public sealed class GradientContext
{
    internal GradientContext(GraphBuilder builder, NodeProto node, string?[] outputGrads, bool[] needsGrad)
    {
        B = builder; Node = node; OutputGrads = outputGrads; NeedsGrad = needsGrad;
    }

    /// <summary>The builder that receives the gradient nodes.</summary>
    public GraphBuilder B { get; }

    /// <summary>The forward node being differentiated (rules may add outputs to it, e.g. MaxPool indices).</summary>
    public NodeProto Node { get; }

    /// <summary>Gradient of each output, or null when that output does not reach the objective.</summary>
    public string?[] OutputGrads { get; }

    /// <summary>Whether each input needs a gradient.</summary>
    public bool[] NeedsGrad { get; }

    /// <summary>Name of input <paramref name="i"/>.</summary>
    public string X(int i) => Node.Input[i];

    /// <summary>Name of output <paramref name="i"/>.</summary>
    public string Y(int i = 0) => Node.Output[i];

    /// <summary>The gradient of output 0 (always present when a rule runs for a single-output node).</summary>
    public string DY => OutputGrads[0] ?? B.ZerosLike(Y(0));

    /// <summary>Whether input <paramref name="i"/> needs a gradient.</summary>
    public bool Needs(int i) => i < NeedsGrad.Length && NeedsGrad[i];

    /// <summary>An error for an unsupported configuration of this node.</summary>
    public ModelException Unsupported(string what) =>
        new($"cannot differentiate {Node.Describe()}: {what}");

    /// <summary>A gradient array sized to the node's inputs.</summary>
    public string?[] Grads() => new string?[Node.Input.Count];

    /// <summary>Static dims of a tensor, or a clear error.</summary>
    public long[] Dims(string t) => B.Dims(t) ?? throw Unsupported($"the shape of '{t}' is unknown");
}

/// <summary>Emits the vector-Jacobian product of one operator: given the output gradients, the gradients of the inputs.</summary>
public delegate string?[] GradientRule(GradientContext ctx);

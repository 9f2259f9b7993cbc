namespace MLStyle.Autodiff;

/// <summary>The registry of gradient rules, one per ONNX operator.</summary>
public static partial class GradientRules
{
    /// <summary>Every rule, by operator type.</summary>
    public static IReadOnlyDictionary<string, GradientRule> All { get; } = Build();

    static Dictionary<string, GradientRule> Build()
    {
        var d = new Dictionary<string, GradientRule>();
        RegisterElementwise(d);
        RegisterConvolution(d);
        RegisterPooling(d);
        RegisterNormalization(d);
        RegisterMatrix(d);
        RegisterStructure(d);
        RegisterReduction(d);
        return d;
    }
}

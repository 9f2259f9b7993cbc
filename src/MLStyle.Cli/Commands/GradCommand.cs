using MLStyle.Autodiff;
using MLStyle.Onnx;

namespace MLStyle.Cli.Commands;

/// <summary><c>mlstyle grad</c>: differentiate an ONNX model.</summary>
public sealed class GradCommand : Command<GradCommand.Settings>
{
    /// <summary>Options of <c>mlstyle grad</c>.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-m|--model <ONNX>")]
        [Description("Required. The model to differentiate.")]
        public string Model { get; init; } = "";

        [CommandOption("--of <TENSOR>")]
        [Description("Required. The output (any tensor) Y to differentiate.")]
        public string Of { get; init; } = "";

        [CommandOption("--wrt <TENSORS>")]
        [Description("Required. Comma-separated inputs and/or initializers N to differentiate with respect to.")]
        public string Wrt { get; init; } = "";

        [CommandOption("-o|--output <ONNX>")]
        [Description("Required. The gradient model: M's inputs plus Y_seed; outputs Y and N_grad for each N.")]
        public string Output { get; init; } = "";

        [CommandOption("--no-fold-batchnorm")]
        [Description("Keep BatchNormalization nodes instead of folding them into the convolutions.")]
        public bool NoFold { get; init; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            return RequiredOptions.Missing((Model, "--model"), (Of, "--of"), (Wrt, "--wrt"), (Output, "--output")) ?? ValidationResult.Success();
        }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        OutputPaths.CheckRun([s.Model], (s.Output, "--output"));
        var model = OnnxModels.Load(s.Model);
        var wrt = s.Wrt.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (wrt.Length == 0) throw new MLStyleException("--wrt names no tensor");
        if (wrt.Distinct().Count() != wrt.Length) throw new MLStyleException("--wrt names a tensor twice");
        int before = model.Graph.Node.Count;
        var grad = Differentiator.Differentiate(model, s.Of, wrt, new DifferentiationOptions { FoldBatchNorm = !s.NoFold });
        OnnxModels.Save(grad, s.Output);
        Console.WriteLine($"wrote {s.Output}: inputs {string.Join(", ", OnnxModels.RealInputs(grad))}; outputs {string.Join(", ", grad.Graph.Output.Select(o => o.Name))}; " +
                          $"{grad.Graph.Node.Count} nodes ({before} in the model)");
        return ExitCodes.Ok;
    }
}

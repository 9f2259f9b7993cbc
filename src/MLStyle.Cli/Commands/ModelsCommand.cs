using MLStyle.Backbones;
using MLStyle.Losses;

namespace MLStyle.Cli.Commands;

/// <summary><c>mlstyle models</c>: list backbones and layers.</summary>
public sealed class ModelsCommand : Command<ModelsCommand.Settings>
{
    /// <summary>Options of <c>mlstyle models</c>.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <MODEL>")]
        [Description("Show the layers of this backbone only.")]
        public string? Model { get; init; }

        [CommandOption("--models-dir <DIR>")]
        [Description("Where user-supplied .onnx backbones are (default: ./models).")]
        public string? ModelsDir { get; init; }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var names = new List<string>();
        if (s.Model is not null) names.Add(s.Model);
        else
        {
            names.Add("resnet18");
            var dir = s.ModelsDir ?? BackboneFactory.FindModelsDirectory();
            if (dir is not null && Directory.Exists(dir)) names.AddRange(Directory.EnumerateFiles(dir, "*.onnx").OrderBy(f => f, StringComparer.Ordinal));
        }
        foreach (var n in names)
        {
            Backbone b;
            try { b = BackboneFactory.Resolve(n, s.ModelsDir); }
            catch (MLStyleException e) when (s.Model is null)
            {
                Output.Warn($"{Path.GetFileName(n)}: {e.Message}");
                continue;
            }
            Console.WriteLine($"{b.Name}: {b.Description}");
            Console.WriteLine($"  source: {b.Source}");
            var d = StyleDefaults.For(b);
            Console.WriteLine($"  defaults: content {string.Join(",", d.ContentLayers.Select(l => l.Layer))}; style {string.Join(",", d.StyleLayers.Select(l => l.Layer))}");
            var table = new Table().AddColumns("layer", "channels", "stride").Border(TableBorder.Simple);
            foreach (var l in b.Layers) table.AddRow(Markup.Escape(l.Name), l.Channels.ToString(), l.Stride > 0 ? $"1/{l.Stride}" : "?");
            AnsiConsole.Write(table);
        }
        return ExitCodes.Ok;
    }
}

using System.Text.RegularExpressions;
using MLStyle.Backbones;
using MLStyle.ML.Tests.Support;

namespace MLStyle.ML.Tests;

/// <summary>The ResNet18 layer names that the ML.NET components' docs and the README mention exist.</summary>
public class LayerNameDocsTests
{
    [Fact]
    public void EveryResNet18LayerNamedInTheDocs_Exists()
    {
        var layers = BackboneFactory.Resolve("resnet18").Layers.Select(l => l.Name).ToHashSet();
        Assert.Equal("layer4.2", BackboneFactory.Resolve("resnet18").Layers.Where(l => !l.Name.EndsWith(".relu")).Last().Name);
        var files = Directory.EnumerateFiles(Path.Combine(TestData.Root, "src", "MLStyle.ML"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Append(Path.Combine(TestData.Root, "README.md")).ToList();
        var unknown = files.SelectMany(f => Regex.Matches(File.ReadAllText(f), @"\blayer[1-4]\.\d\b").Select(m => (File: Path.GetFileName(f), Layer: m.Value)))
            .Where(x => !layers.Contains(x.Layer)).Distinct().ToList();
        Assert.True(unknown.Count == 0, "unknown layers: " + string.Join(", ", unknown));
    }
}

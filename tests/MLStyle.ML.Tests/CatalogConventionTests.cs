using System.Reflection;
using Microsoft.ML;
using MLStyle.ML.Tests.Support;

namespace MLStyle.ML.Tests;

/// <summary>ML.NET's catalog shape: (outputColumnName, inputColumnName, …) first, files and settings after them.</summary>
public class CatalogConventionTests
{
    [Fact]
    public void EveryTransformCatalogMethod_TakesOutputThenInputColumnFirst()
    {
        var methods = typeof(MLStyleCatalog).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.GetParameters()[0].ParameterType == typeof(TransformsCatalog)).ToList();
        Assert.NotEmpty(methods);
        foreach (var m in methods)
        {
            var names = m.GetParameters().Skip(1).Select(p => p.Name!).ToArray();
            Assert.True(names[0] is "outputColumnName" or "outputColumnNames", $"{m}: first parameter {names[0]}");
            Assert.True(names[1] == "inputColumnName", $"{m}: second parameter {names[1]}");
        }
    }

    [Fact]
    public void StyleTransfer_StylePathAfterTheColumns_AndSwappedArgumentsAreNamed()
    {
        var ml = new MLContext(seed: 1);
        var style = TestData.Sample("style", "swirls.png");
        var data = ml.Data.LoadFromEnumerable(TestData.ContentRows());
        var stylized = ml.Transforms.StyleTransfer("Stylized", "Pixels", style, iterations: 2).Fit(data).Transform(data);
        Assert.NotNull(stylized.Schema.GetColumnOrNull("Stylized"));
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.StyleTransfer("Stylized", style, "Pixels"));
        Assert.Contains("(outputColumnName, inputColumnName, styleImagePath)", e.Message);
    }

    [Fact]
    public void ApplyStylizer_ModelFileAfterTheColumns_AndSwappedArgumentsAreNamed()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mlstyle-order-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(file, [1, 2, 3]);
        try
        {
            var e = Assert.Throws<ArgumentException>(() => new MLContext().Transforms.ApplyStylizer("Stylized", file, "Pixels"));
            Assert.Contains("(outputColumnName, inputColumnName, modelFile)", e.Message);
        }
        finally { File.Delete(file); }
    }
}

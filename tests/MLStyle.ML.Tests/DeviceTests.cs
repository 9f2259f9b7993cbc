using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLStyle.ML.Tests.Support;
using MLStyle.Runtime;

namespace MLStyle.ML.Tests;

public class DeviceTests
{
    [Fact]
    public void UseOnnxDevice_Cuda_FallsBackToTheCpuWithAWarning_WhenCudaCannotLoad()
    {
        var ml = new MLContext(seed: 1);
        var warnings = new List<string>();
        ml.Log += (_, e) => { if (e.Kind == ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.Message); };
        var device = ml.UseOnnxDevice("cuda");
        bool cudaWorks = SessionFactory.ProbeCuda(0) is null;
        if (cudaWorks)
        {
            Assert.True(device.IsCuda);
        }
        else
        {
            Assert.Equal(ExecutionDevice.Cpu, device);
            Assert.Contains(warnings, w => w.Contains("CUDA device 0 is not available") && w.Contains("on the CPU"));
        }

        // Components still run: a Gram pipeline (ApplyOnnxModel under the context's session options) and the trainer.
        var data = ml.Data.LoadFromEnumerable(TestData.ContentRows());
        var gram = ml.Transforms.ExtractStyleFeatures("S", "Pixels", new StyleFeatureExtractingEstimator.Options { Layers = new[] { "conv1" } })
            .Fit(data).Transform(data);
        Assert.Equal(64 * 65 / 2, TestData.Column(gram, "S")[0].Length);
        Assert.Throws<MLStyleException>(() => ml.UseOnnxDevice("tpu"));
    }
}

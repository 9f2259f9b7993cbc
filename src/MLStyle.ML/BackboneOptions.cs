using MLStyle.Backbones;

namespace MLStyle.ML;

/// <summary>Options shared by the components that run a CNN backbone on a column of image pixels.</summary>
public abstract class BackboneOptions
{
    /// <summary>
    /// The backbone: <c>resnet18</c> (the default: the ImageNet ResNet18 embedded through Microsoft.ML.DnnImageFeaturizer.ResNet18),
    /// <c>vgg16</c>/<c>vgg19</c> (the first matching .onnx file in <see cref="ModelsDirectory"/>), or a path to any ONNX CNN
    /// (see <see cref="BackboneFactory.Resolve"/>). Ignored when <see cref="Backbone"/> is set.
    /// </summary>
    public string BackboneName { get; set; } = "resnet18";

    /// <summary>Where <c>vgg16</c>/<c>vgg19</c> files are looked up (default: the nearest <c>models/</c> folder).</summary>
    public string? ModelsDirectory { get; set; }

    /// <summary>Pooling of VGG backbones (default <see cref="VggPooling.Max"/>).</summary>
    public VggPooling Pooling { get; set; } = VggPooling.Max;

    /// <summary>A backbone object (for example from <see cref="BackboneFactory.Resolve"/>); overrides <see cref="BackboneName"/>.</summary>
    public Backbone? Backbone { get; set; }

    /// <summary>
    /// Width of the images in pixels. Default null: the width recorded in the input column's dimensions
    /// (<c>ExtractPixels</c> produces <c>Vector&lt;Single, 3, H, W&gt;</c>). ONNX models in ML.NET pipelines have fixed sizes, so
    /// every row must have this size; use <c>ResizeImages</c> first.
    /// </summary>
    public int? ImageWidth { get; set; }

    /// <summary>Height of the images in pixels (default null: from the input column, like <see cref="ImageWidth"/>).</summary>
    public int? ImageHeight { get; set; }

    internal Backbone ResolveBackbone() => Backbone ?? BackboneFactory.Resolve(BackboneName, ModelsDirectory, Pooling);

    internal void ValidateSize()
    {
        if (ImageWidth is < 8 or > 8192) throw new ArgumentOutOfRangeException(nameof(ImageWidth), $"ImageWidth {ImageWidth} must be between 8 and 8192");
        if (ImageHeight is < 8 or > 8192) throw new ArgumentOutOfRangeException(nameof(ImageHeight), $"ImageHeight {ImageHeight} must be between 8 and 8192");
        if (ImageWidth.HasValue != ImageHeight.HasValue) throw new ArgumentException("set both ImageWidth and ImageHeight, or neither");
    }
}

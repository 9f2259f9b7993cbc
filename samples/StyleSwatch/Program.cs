// Paints samples/style/swirls.png: thousands of short brush strokes that follow a swirling flow field, in a night-sky
// palette. MLStyle's README uses it as the committed sample style (the real paintings in ../shared/images may not be
// committed). Deterministic: the same seed gives the same picture.
using SkiaSharp;

var output = args.Length > 0 ? args[0] : "swirls.png";
const int W = 768, H = 512;
var rng = new Random(1889);
using var surface = SKSurface.Create(new SKImageInfo(W, H, SKColorType.Rgba8888, SKAlphaType.Premul));
var canvas = surface.Canvas;
canvas.Clear(new SKColor(18, 32, 78));

SKColor[] palette =
{
    new(25, 52, 120), new(38, 78, 160), new(70, 120, 200), new(110, 160, 220), new(20, 40, 90),
    new(235, 205, 80), new(250, 230, 140), new(200, 160, 50), new(150, 190, 210), new(60, 95, 70),
};
// Swirl centres: the flow turns around them, like eddies in a night sky.
var centres = Enumerable.Range(0, 7).Select(_ => (X: rng.NextDouble() * W, Y: rng.NextDouble() * H * 0.8, S: rng.Next(2) == 0 ? 1 : -1, R: 60 + rng.NextDouble() * 120)).ToArray();
double Angle(double x, double y)
{
    double ax = 1, ay = 0.15 * Math.Sin(y / 45.0);
    foreach (var c in centres)
    {
        double dx = x - c.X, dy = y - c.Y, d2 = dx * dx + dy * dy, w = Math.Exp(-d2 / (2 * c.R * c.R)) * 3;
        ax += -dy / Math.Sqrt(d2 + 1) * w * c.S;
        ay += dx / Math.Sqrt(d2 + 1) * w * c.S;
    }
    return Math.Atan2(ay, ax);
}

using var paint = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeCap = SKStrokeCap.Round };
for (int layer = 0; layer < 3; layer++)
{
    for (int i = 0; i < 9000; i++)
    {
        double x = rng.NextDouble() * W, y = rng.NextDouble() * H;
        bool bright = rng.NextDouble() < 0.12 + 0.1 * layer;
        var baseColor = bright ? palette[5 + rng.Next(3)] : palette[rng.Next(5)];
        if (y > H * 0.78 && rng.NextDouble() < 0.6) baseColor = palette[9];
        int jitter = rng.Next(-18, 18);
        paint.Color = new SKColor((byte)Math.Clamp(baseColor.Red + jitter, 0, 255), (byte)Math.Clamp(baseColor.Green + jitter, 0, 255),
                                  (byte)Math.Clamp(baseColor.Blue + jitter, 0, 255), (byte)(170 + rng.Next(80)));
        paint.StrokeWidth = (float)(2.5 + rng.NextDouble() * (5 - layer));
        using var path = new SKPath();
        path.MoveTo((float)x, (float)y);
        int steps = 4 + rng.Next(8);
        for (int s = 0; s < steps; s++)
        {
            double a = Angle(x, y);
            x += Math.Cos(a) * 4; y += Math.Sin(a) * 4;
            path.LineTo((float)x, (float)y);
        }
        canvas.DrawPath(path, paint);
    }
}
// A few glowing stars.
for (int i = 0; i < 9; i++)
{
    float x = (float)(rng.NextDouble() * W), y = (float)(rng.NextDouble() * H * 0.6), r = (float)(10 + rng.NextDouble() * 18);
    for (int ring = 6; ring >= 1; ring--)
    {
        paint.Style = SKPaintStyle.Stroke;
        paint.StrokeWidth = 4;
        paint.Color = ring % 2 == 0 ? new SKColor(250, 225, 110, 200) : new SKColor(230, 240, 200, 220);
        canvas.DrawCircle(x, y, r * ring / 4f, paint);
    }
}
using var image = surface.Snapshot();
using var data = image.Encode(SKEncodedImageFormat.Png, 100);
File.WriteAllBytes(output, data.ToArray());
Console.WriteLine($"wrote {output} ({W}x{H})");

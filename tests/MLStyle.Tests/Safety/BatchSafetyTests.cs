#nullable enable
using MLStyle.Batch;
using MLStyle.Tests.Batch;
using MLStyle.Tests.Cli;
using MLStyle.Tests.Support;

namespace MLStyle.Tests.Safety;

/// <summary>
/// Batches: the walk of the input never enters the output, never follows links out of the input unless asked, never opens
/// a FIFO, socket or device; output names never collide; the manifest survives garbage and never trusts a changed output.
/// </summary>
public sealed class BatchSafetyTests : IDisposable
{
    readonly TestImages.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string P(string rel) => Path.Combine(_dir.Path, rel);
    string In => P("in");
    string Style => P("style.png");

    public BatchSafetyTests()
    {
        Corpus.Write(_dir.Path, "style.png", Corpus.Photo(32, 32, 42));
        Corpus.Write(_dir.Path, "in/a.png", Corpus.Photo(24, 24, 1));
    }

    string[] Batch(string output, params string[] extra) =>
        ["batch", "stylize", "--input", In, "--output", output, "--style", Style, "--size", "32", "--iterations", "2",
         "--style-layers", "conv1", "--content-layers", "conv1", "--threads", "2", .. extra];

    static CliResult RunBounded(string[] args)
    {
        var run = Task.Run(() => CliRunner.Run(args));
        Assert.True(run.Wait(TimeSpan.FromMinutes(3)), "the batch hung");
        return run.Result;
    }

    [Fact]
    public void AnOutputThatIsTheInputUnderAnotherNameIsRefused()
    {
        File.CreateSymbolicLink(P("in-link"), In);
        Corpus.Write(_dir.Path, "elsewhere/e.png", Corpus.Photo(24, 24, 5));
        Directory.CreateDirectory(P("out"));
        FileTree.HardLink(P("in/a.png"), P("out/a.png"));
        var before = FileTree.Snapshot(_dir.Path);

        foreach (var (output, fragment) in new[] { (P("in-link"), "must differ"), (P("in/../in"), "must differ"), (In + "/", "must differ"),
                     (_dir.Path, "inside the output"), (P("out"), "is the input") })
        {
            var r = RunBounded(Batch(output));
            r.AssertOneError(2, fragment);
        }
        RunBounded(Batch(P("out2"), "--include", "../elsewhere/*.png")).AssertOneError(2, "leaves the input directory");
        RunBounded(Batch(P("out2"), "--exclude", "/abs/**")).AssertOneError(2, "leaves the input directory");
        // A style image where an output would go.
        Corpus.Write(_dir.Path, "out3/a.png", Corpus.Photo(32, 32, 42));
        before = FileTree.Snapshot(_dir.Path);
        var styleInOutput = CliRunner.Run(["batch", "stylize", "--input", In, "--output", P("out3"), "--style", P("out3/a.png"), "--size", "32", "--iterations", "1"]);
        styleInOutput.AssertOneError(2, "is the input");
        FileTree.AssertUnchanged(before, _dir.Path);
    }

    [Fact]
    public void TheWalkSkipsSpecialFilesAndLinksNeverEntersTheOutputAndNamesOutputsWithoutCollisions()
    {
        Corpus.Write(In, "c.jpg", Corpus.Photo(24, 24, 2, SkiaSharp.SKEncodedImageFormat.Jpeg));
        Corpus.Write(In, "c.jpg.png", Corpus.Photo(24, 24, 3));
        Corpus.Write(In, "c.png", Corpus.Photo(24, 24, 4));
        Corpus.Write(In, "sub/back\\slash.png", Corpus.Photo(24, 24, 6));
        Corpus.Write(In, "sub/back/slash.png", Corpus.Photo(24, 24, 7));
        Corpus.Write(_dir.Path, "elsewhere/e.png", Corpus.Photo(24, 24, 5));
        FileTree.Fifo(P("in/fifo.png"));
        using var socket = FileTree.UnixSocket(P("in/sock.png"));
        File.CreateSymbolicLink(P("in/zero.png"), "/dev/zero");
        File.CreateSymbolicLink(P("in/up"), "..");
        File.CreateSymbolicLink(P("in/loop"), ".");
        File.CreateSymbolicLink(P("in/outside.png"), P("elsewhere/e.png"));
        var before = FileTree.Snapshot(_dir.Path);
        var output = In + "/out/"; // inside the input, with a trailing slash

        var r = RunBounded(Batch(output));
        Assert.True(r.ExitCode == 0, r.Stderr);
        r.AssertNoStackTrace();
        Assert.Contains("batch: 6 images: 6 done", r.Stdout);
        foreach (var skipped in new[] { "fifo.png", "sock.png", "zero.png", "outside.png", "up/", "loop/" })
            Assert.Contains($"skipped: {skipped}: ", r.Stderr + r.Stdout);
        var outputs = Directory.EnumerateFiles(P("in/out"), "*.png", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(P("in/out"), f)).Order(StringComparer.Ordinal);
        Assert.Equal(["a.png", "c.jpg.png", "c.jpg.png.png", "c.png.png", "sub/back/slash.png", "sub/back\\slash.png"], outputs);
        FileTree.AssertUnchanged(before, _dir.Path);

        // The output inside the input is never searched: a rerun finds the same 6 images, all finished.
        var again = RunBounded(Batch(output));
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("batch: 6 images: 0 done, 6 skipped", again.Stdout);
        FileTree.AssertUnchanged(before, _dir.Path);
    }

    [Fact]
    public void FollowingLinksNeverLoopsAndNeverEntersTheOutput()
    {
        Corpus.Write(_dir.Path, "elsewhere/e.png", Corpus.Photo(24, 24, 5));
        Directory.CreateDirectory(P("out"));
        File.CreateSymbolicLink(P("in/loop"), ".");
        File.CreateSymbolicLink(P("in/up"), "..");
        File.CreateSymbolicLink(P("in/elsewhere"), P("elsewhere"));
        File.CreateSymbolicLink(P("in/to-out"), P("out"));
        File.CreateSymbolicLink(P("in/e.png"), P("elsewhere/e.png"));

        var plain = BatchInputs.Scan(In, P("out"));
        Assert.Equal(["a.png"], plain.Items.Select(i => i.RelativePath));
        var found = BatchInputs.Scan(In, P("out"), followLinks: true);
        // Every real directory once: in/ itself, then elsewhere/ by its first name ('elsewhere' sorts before 'up');
        // 'up' reaches the parent, where 'in' and 'out' are refused.
        Assert.Equal(["a.png", "e.png", "elsewhere/e.png", "up/style.png"], found.Items.Select(i => i.RelativePath));
        Assert.Contains(found.Skipped, s => s.RelativePath == "loop/");
        Assert.Contains(found.Skipped, s => s.RelativePath == "to-out/");
        Assert.DoesNotContain(found.Items, i => i.RelativePath.Contains("/in/", StringComparison.Ordinal) || i.RelativePath.StartsWith("up/out", StringComparison.Ordinal));
    }

    [Fact]
    public void OutputNamesThatCannotBeMadeDistinctFailUpFront()
    {
        Corpus.Write(In, "A.png", Corpus.Photo(24, 24, 2));
        var e = Assert.Throws<MLStyleException>(() => BatchInputs.Scan(In, P("out")));
        Assert.Contains("would both be written", e.Message);
        Assert.False(Directory.Exists(P("out")));
        var names = BatchInputs.OutputNames(["a.jpg", "a.png", "a.jpg.png", "a.jpg.png.png"], ".png");
        Assert.Equal(4, names.Values.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public void TheManifestSurvivesGarbageAndResumeNeverTrustsAChangedOutput()
    {
        var output = P("out");
        var first = RunBounded(Batch(output));
        Assert.True(first.ExitCode == 0, first.Stderr);
        var manifest = Path.Combine(output, BatchManifest.FileName);
        File.AppendAllText(manifest, "{\"input\": null, \"output\": null, \"status\": \"ok\"}\n{\"input\": 5, \"seconds\": \"x\"}\nnot json\n");
        File.WriteAllText(Path.Combine(output, "a.png"), "garbage"); // resume must not skip this

        var second = RunBounded(Batch(output));
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("warning: ", second.Stderr);
        Assert.Contains("3 unreadable lines ignored", second.Stderr);
        Assert.Contains("batch: 1 images: 1 done, 0 skipped", second.Stdout);
        Assert.Equal(32, MLStyle.Imaging.ImageIO.Load(Path.Combine(output, "a.png")).Width); // redone: a decodable image again

        var third = RunBounded(Batch(output));
        Assert.Contains("batch: 1 images: 0 done, 1 skipped", third.Stdout);

        // A manifest that is a symbolic link is neither read nor written through.
        var victim = Corpus.Write(_dir.Path, "victim.txt", "precious\n"u8.ToArray());
        File.Delete(manifest);
        File.CreateSymbolicLink(manifest, victim);
        var before = FileTree.Snapshot(_dir.Path);
        RunBounded(Batch(output, "--force")).AssertOneError(2, "symbolic link");
        FileTree.AssertUnchanged(before, _dir.Path);
    }

    [Fact]
    public void AFullDiskEndsTheBatchWithOneCleanError()
    {
        Assert.True(FileTree.IsRoot, "this test mounts a 64 KiB tmpfs and needs root (CI runs as root)");
        var output = P("full");
        Directory.CreateDirectory(output);
        Assert.Equal(0, Mount(output));
        try
        {
            // Fill the file system, then leave a little room: the first output fits, the manifest line after it does not.
            for (int i = 0; ; i++)
            {
                try { File.WriteAllBytes(Path.Combine(output, $"fill{i}"), new byte[4096]); }
                catch (IOException) { break; }
            }
            File.Delete(Path.Combine(output, "fill0"));
            File.Delete(Path.Combine(output, "fill1"));
            for (int k = 0; k < 4; k++) Corpus.Write(In, $"more{k}.png", Corpus.Photo(24, 24, 10 + k));
            var before = FileTree.Snapshot(In);
            var r = RunBounded(Batch(output));
            r.AssertNoStackTrace();
            Assert.True(r.ExitCode is 2 or 3, $"exit {r.ExitCode}: {r.Stderr}");
            Assert.DoesNotContain("internal error", r.Stderr);
            Assert.Contains(r.ErrorLines, l => l.StartsWith("error: ", StringComparison.Ordinal) || l.StartsWith("failed: ", StringComparison.Ordinal));
            FileTree.AssertUnchanged(before, In);
        }
        finally
        {
            Umount(output);
        }
    }

    static int Mount(string dir) => RunTool("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir);

    static void Umount(string dir) => RunTool("umount", dir);

    static int RunTool(string tool, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.WaitForExit();
        return p.ExitCode;
    }
}

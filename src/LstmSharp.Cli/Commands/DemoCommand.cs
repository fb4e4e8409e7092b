using System.CommandLine;
using System.Globalization;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Cli.Commands;

/// <summary><c>lstm demo</c>: a small LSTM run forward and backward, with a finite-difference check of one gradient.</summary>
public static class DemoCommand
{
    /// <summary>Examples for <c>--help</c>.</summary>
    public static readonly string[] Examples = ["lstm demo"];

    /// <summary>The command.</summary>
    public static Command Create(CliApp app)
    {
        var command = new Command("demo", "Run a 2-layer bidirectional LSTM forward and backward on variable-length sequences and check a gradient by finite differences.");
        app.SetAction(command, _ => Run(app.Console.Out));
        return command;
    }

    private static int Run(TextWriter output)
    {
        var options = new LstmOptions { InputSize = 3, HiddenSize = 8, NumLayers = 2, Bidirectional = true, BatchFirst = true };
        var lstm = new Lstm<double>(options, seed: 42) { Training = false };
        var rng = new Rng(1);
        var x = Tensor<double>.Zeros(4, 10, 3);                                  // [B, T, I]
        rng.FillNormal<double>(x.Data);
        int[] lengths = [10, 7, 5, 2];
        var r = lstm.Forward(x, lengths: lengths);
        output.WriteLine($"LSTM {options}");
        output.WriteLine($"parameters: {lstm.ParameterCount} in {lstm.Parameters.Count} tensors ({string.Join(", ", lstm.Parameters.Select(p => p.ToString()))})");
        output.WriteLine($"input {x.ShapeString}, lengths [{string.Join(", ", lengths)}] -> output {r.Output.ShapeString}, h_n {r.HN.ShapeString}, c_n {r.CN.ShapeString}");

        // Loss = sum(output): its gradient is all ones.
        var ones = Tensor<double>.Full(1.0, [.. r.Output.Shape]);
        var g = lstm.Backward(r.Cache, ones);
        var w = lstm.GetParameter("weight_hh_l0");
        double analytic = w.Grad.Data[5];
        const double eps = 1e-6;
        double Loss() => lstm.Forward(x, lengths: lengths).Output.Data.Sum();
        double saved = w.Value.Data[5];
        w.Value.Data[5] = saved + eps;
        double up = Loss();
        w.Value.Data[5] = saved - eps;
        double down = Loss();
        w.Value.Data[5] = saved;
        double numeric = (up - down) / (2 * eps);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"d sum(output) / d weight_hh_l0[0, 5]: backward {analytic:G10}, finite difference {numeric:G10}, |diff| {Math.Abs(analytic - numeric):E2}"));
        output.WriteLine($"d input {g.Input.ShapeString}; padded steps get zero gradient: {g.Input[3, 9, 0] == 0 && g.Input[3, 2, 1] == 0}");
        return Math.Abs(analytic - numeric) < 1e-6 ? ExitCodes.Ok : 1;
    }
}

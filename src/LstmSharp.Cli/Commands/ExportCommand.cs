using System.CommandLine;
using LstmSharp.Cli.Training;
using LstmSharp.IO.Onnx;

namespace LstmSharp.Cli.Commands;

/// <summary><c>lstm export</c>: a trained model as an ONNX file.</summary>
public static class ExportCommand
{
    /// <summary>Examples for <c>--help</c>.</summary>
    public static readonly string[] Examples = ["lstm export --model runs/forecast --onnx forecast.onnx", "lstm export --model runs/fashion --onnx fashion.onnx --softmax"];

    /// <summary>The command.</summary>
    public static Command Create(CliApp app)
    {
        var command = new Command("export",
            "Export a trained model to ONNX (opset 14+): the LSTM becomes ONNX's LSTM operator, the head Gemm or MatMul + Add, the embedding Gather. " +
            "Inputs: 'input' (batch-first) and 'lengths' [B]; outputs 'output', 'h_n', 'c_n'; batch and sequence axes are dynamic. " +
            "A model with a projection (proj_size) has no ONNX LSTM equivalent and is refused.");
        var model = new Option<string>("--model", "-m") { Description = "The model: a run folder, its model.safetensors or its model.json.", Required = true };
        var onnx = new Option<string>("--onnx") { Description = "The ONNX file to write.", Required = true };
        var softmax = new Option<bool>("--softmax") { Description = "Add a softmax over the classes (classifiers and language models)." };
        var opset = new Option<int>("--opset") { Description = "The ONNX opset version, 14 to 21.", DefaultValueFactory = _ => 17 };
        command.Options.Add(model);
        command.Options.Add(onnx);
        command.Options.Add(softmax);
        command.Options.Add(opset);
        app.SetAction(command, r =>
        {
            var bundle = ModelBundle.Load(r.GetValue(model)!);
            string path = r.GetValue(onnx)!;
            int version = r.GetValue(opset);
            if (version < OnnxExportOptions.MinOpsetVersion || version > OnnxExportOptions.MaxOpsetVersion)
                throw new CliException($"--opset: expected {OnnxExportOptions.MinOpsetVersion} to {OnnxExportOptions.MaxOpsetVersion}, got {version}.");
            if (r.GetValue(softmax) && !bundle.Model.Config.IsCategorical)
                throw new CliException($"--softmax: a {bundle.Sidecar.Task} model predicts values, not classes.");
            try
            {
                bundle.Model.ExportOnnx(path, r.GetValue(softmax), version);
            }
            catch (NotSupportedException e)
            {
                throw new CliException(e.Message);
            }
            app.Console.Line($"Wrote {path} ({new FileInfo(path).Length:N0} bytes) from {bundle.ModelPath}.");
            return ExitCodes.Ok;
        });
        return command;
    }
}

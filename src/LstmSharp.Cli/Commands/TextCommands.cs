using System.CommandLine;
using System.Globalization;
using System.Text;
using LstmSharp.Cli.Data;
using LstmSharp.Cli.Output;
using LstmSharp.Cli.Text;
using LstmSharp.Cli.Training;
using LstmSharp.Models;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Cli.Commands;

/// <summary><c>lstm train text</c> and <c>lstm generate</c>: a character-level language model.</summary>
public static class TextCommands
{
    /// <summary>The task's training defaults.</summary>
    public static readonly TaskDefaults Defaults = new("text", Layers: 2, Hidden: 256, Epochs: 10, Batch: 64, LearningRate: 2e-3, Clip: 5.0, ValidationFraction: 0.1, Patience: 3);

    /// <summary>Examples for <c>train text --help</c>.</summary>
    public static readonly string[] TrainExamples =
    [
        "lstm train text --file /work/shared/data/tinyshakespeare.txt --layers 2 --hidden 256 --epochs 20 --out runs/shakespeare",
        "lstm train text --file notes.txt --hidden 128 --seq-len 64 --epochs 5 --max-minutes 10",
        "lstm train text --file input.txt --limit 200 --epochs 1          # a quick smoke run",
    ];

    /// <summary>Examples for <c>generate --help</c>.</summary>
    public static readonly string[] GenerateExamples =
    [
        "lstm generate --model runs/shakespeare --prompt \"ROMEO:\" --length 500 --temperature 0.8",
        "lstm generate --model runs/text/model.safetensors --prompt \"The \" --top-k 5 --seed 7",
    ];

    /// <summary>The <c>train text</c> command.</summary>
    public static Command Train(CliApp app)
    {
        var command = new Command("text",
            "Train a character-level language model on a UTF-8 text file.\n" +
            "The model is embedding -> LSTM -> linear over the vocabulary.\n" +
            "The vocabulary is the file's distinct characters (saved in model.json). The last --val-fraction of the text is held out\n" +
            "for validation; the rest is cut into non-overlapping windows of --seq-len characters, each predicting the next character.\n" +
            "Losses are in nats per character. Leaves model.safetensors, model.json, checkpoint.safetensors and loss.png in --out.");
        var file = new Option<string>("--file", "-f") { Description = "The training text (UTF-8).", Required = true };
        var seqLen = new Option<int>("--seq-len") { Description = "Characters per training sequence (backpropagation through time over the whole window).", DefaultValueFactory = _ => 100 };
        var embedding = new Option<int>("--embedding") { Description = "Width of the character embedding.", DefaultValueFactory = _ => 64 };
        command.Options.Add(file);
        command.Options.Add(seqLen);
        command.Options.Add(embedding);
        var common = new TrainOptionSet(command, Defaults);
        app.SetAction(command, r => TrainRun(app.Console, common.Read(r), r.GetValue(file)!, r.GetValue(seqLen), r.GetValue(embedding)));
        return command;
    }

    /// <summary>Reads a text corpus (<see cref="TextFile.Read"/>); an empty one is a <see cref="CliException"/> too.</summary>
    public static string ReadText(string path)
    {
        string text = TextFile.Read(path);
        if (text.Length == 0) throw new CliException($"{path}: the text is empty.");
        return text;
    }

    private static int TrainRun(CliConsole console, TrainSettings s, string path, int seqLen, int embedding)
    {
        if (seqLen < 1) throw new CliException($"--seq-len: expected at least 1, got {seqLen}.");
        if (embedding < 1) throw new CliException($"--embedding: expected at least 1, got {embedding}.");
        if (s.Bidirectional) throw new CliException("--bidirectional: a language model predicts the next character and must not read the future.");
        string text = ReadText(path);
        var vocabulary = Vocabulary.FromText(text);
        var ids = vocabulary.Encode(text, (line, column) => $"{path} line {line}, column {column}");
        int cut = s.ValidationFraction > 0 ? (int)(ids.Length * (1 - s.ValidationFraction)) : ids.Length;
        if (cut < 2 || (s.ValidationFraction > 0 && ids.Length - cut < 2))
            throw new CliException($"{path}: the text has {ids.Length} characters; training needs at least 2 for training and 2 for validation (--val-fraction {s.ValidationFraction}).");
        var train = SequenceDataset<float>.ForLanguageModel(ids.AsSpan(0, cut), seqLen, vocabulary.Count);
        var validation = cut < ids.Length ? SequenceDataset<float>.ForLanguageModel(ids.AsSpan(cut), seqLen, vocabulary.Count) : null;
        if (s.Limit > 0)
        {
            train = train.Subset(Enumerable.Range(0, Math.Min(s.Limit, train.Count)));
            if (validation is not null) validation = validation.Subset(Enumerable.Range(0, Math.Min(Math.Max(1, s.Limit / 5), validation.Count)));
        }
        var config = new ModelConfig
        {
            Kind = ModelKind.LanguageModel,
            VocabSize = vocabulary.Count,
            EmbeddingSize = embedding,
            HiddenSize = s.Hidden,
            NumLayers = s.Layers,
            Dropout = s.Layers > 1 ? s.Dropout : 0,
            HeadDropout = s.Dropout,
        };
        var model = new SequenceModel<float>(config, s.Seed);
        console.Line(string.Create(CultureInfo.InvariantCulture,
            $"Language model on {path}: {ids.Length} characters, vocabulary of {vocabulary.Count}; {train.Count} training sequences of {seqLen}, {validation?.Count ?? 0} validation."));
        console.Line($"Model: embedding {embedding} -> LSTM {s.Layers}x{s.Hidden} -> linear {vocabulary.Count}; {model.ParameterCount} parameters.");
        if (s.ApplyThreads() is { } threadsNote) console.Line($"Note: {threadsNote}");
        var outcome = TrainingSession.Run(console, s, model, train, validation);
        if (outcome.Interrupted) return ExitCodes.Interrupted;

        double? valLoss = validation is null ? null : outcome.Trainer.Evaluate(validation).Loss;
        console.Line(string.Create(CultureInfo.InvariantCulture,
            $"Trained {outcome.EpochsDescription} in {outcome.TrainSeconds:F1} s ({outcome.SamplesPerSecond:F0} sequences/s)") +
            (valLoss is { } v ? string.Create(CultureInfo.InvariantCulture, $"; validation loss {v:F4} nats/char ({v / Math.Log(2):F3} bits/char, perplexity {Math.Exp(v):F2}).") : "."));
        var sidecar = new ModelSidecar
        {
            Task = "text",
            Config = ForecastCommands.Strip(config.ToMetadata()),
            Text = new Training.TextInfo { Vocabulary = [.. vocabulary.Characters], SequenceLength = seqLen },
            Training = s.Describe(),
        };
        string modelPath = ModelBundle.Save(model, sidecar, s.Out);
        string lossPng = Path.Combine(s.Out, "loss.png");
        Plots.Loss(outcome.Result.History, "cross-entropy, nats/char", lossPng);
        if (s.MetricsJson is { } metricsPath)
        {
            new MetricsJson("text", outcome.Result.History.Count, outcome.TrainSeconds, outcome.SamplesPerSecond, outcome.BestValidationLoss, valLoss ?? double.NaN)
                .Add("val_loss_nats_per_char", valLoss)
                .Save(metricsPath);
        }
        string prompt = text.EnumerateRunes().First().ToString();  // the first character, whole (a surrogate pair too)
        var sample = new StringBuilder(prompt);
        Sample(model, vocabulary, prompt, 200, 0.8, 0, s.Seed, c => sample.Append(c));
        console.Line("Sample (temperature 0.8):");
        console.Line(sample.ToString());
        console.Line($"Wrote {lossPng}. Model: {modelPath} (+ {ModelBundle.SidecarFile}); checkpoint: {s.CheckpointPath}" + (s.MetricsJson is null ? "." : $"; metrics: {s.MetricsJson}."));
        return ExitCodes.Ok;
    }

    /// <summary>The <c>generate</c> command.</summary>
    public static Command Generate(CliApp app)
    {
        var command = new Command("generate",
            "Sample text from a character-level language model trained by 'lstm train text'.\n" +
            "The prompt is fed one character at a time, carrying the LSTM state (h, c), then each sampled character is fed back.\n" +
            "Prints the prompt followed by the sample.");
        var model = new Option<string>("--model", "-m") { Description = "The model: a run folder, its model.safetensors or its model.json.", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "Text to start from; every character must be in the model's vocabulary (default: a newline, or the vocabulary's first character when it has none)." };
        var length = new Option<int>("--length", "-n") { Description = "Characters to generate.", DefaultValueFactory = _ => 300 };
        var temperature = new Option<double>("--temperature", "-t") { Description = "Softmax temperature: below 1 is more conservative, above 1 more random; 0 always takes the most likely.", DefaultValueFactory = _ => 0.8 };
        var topK = new Option<int>("--top-k") { Description = "Sample only among the k most likely characters (0: all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the sampling: the same seed gives the same text.", DefaultValueFactory = _ => 1UL };
        foreach (Option o in new Option[] { model, prompt, length, temperature, topK, seed }) command.Options.Add(o);
        app.SetAction(command, r =>
        {
            int n = r.GetValue(length), k = r.GetValue(topK);
            double t = r.GetValue(temperature);
            if (n < 0) throw new CliException($"--length: expected a non-negative count, got {n}.");
            if (!(t >= 0)) throw new CliException($"--temperature: expected 0 or more, got {t}.");
            if (k < 0) throw new CliException($"--top-k: expected 0 (all) or a positive count, got {k}.");
            var bundle = ModelBundle.Load(r.GetValue(model)!, "text");
            var vocabulary = new Vocabulary(bundle.Sidecar.Text!.Vocabulary);
            string text = r.GetValue(prompt) ?? (bundle.Sidecar.Text.Vocabulary.Contains("\n") ? "\n" : bundle.Sidecar.Text.Vocabulary[0]);
            if (text.Length == 0) throw new CliException("--prompt: expected at least one character to start from.");
            vocabulary.Encode(text, PromptPosition);                                // check every character before printing any
            app.Console.Out.Write(text);
            Sample(bundle.Model, vocabulary, text, n, t, k, r.GetValue(seed), s => { app.Console.Out.Write(s); app.Console.Out.Flush(); });
            app.Console.Out.WriteLine();
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Where a prompt character is, for errors.</summary>
    public static string PromptPosition(int line, int column) => line > 1 ? $"--prompt: line {line}, position {column}" : $"--prompt: position {column}";

    /// <summary>
    /// Feeds <paramref name="prompt"/> and samples <paramref name="length"/> characters, handing each to
    /// <paramref name="onCharacter"/> as it comes (nothing is kept: a long generation takes no memory). A prompt character
    /// outside the vocabulary is a <see cref="CliException"/>.
    /// </summary>
    public static void Sample(SequenceModel<float> model, Vocabulary vocabulary, string prompt, int length, double temperature, int topK, ulong seed,
        Action<string> onCharacter)
    {
        ArgumentNullException.ThrowIfNull(onCharacter);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (prompt.Length == 0) throw new CliException("--prompt: expected at least one character to start from.");
        var ids = vocabulary.Encode(prompt, PromptPosition);
        var sampler = new CharSampler(model);
        foreach (int id in ids) sampler.Feed(id);
        var rng = new Rng(seed);
        for (int k = 0; k < length; k++)
        {
            int next = sampler.Sample(temperature, topK, rng);
            onCharacter(vocabulary.Characters[next]);
            sampler.Feed(next);
        }
    }
}

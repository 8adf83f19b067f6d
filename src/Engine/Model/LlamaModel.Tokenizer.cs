using TtEngine.Tokenization;

namespace TtEngine.Model;

public sealed partial class LlamaModel
{
    private Tokenizer? _tokenizer;

    /// <summary>The tokenizer from the GGUF's tokenizer.ggml.* metadata.</summary>
    public Tokenizer Tokenizer => _tokenizer!;

    /// <summary>tokenizer.chat_template, or null.</summary>
    public string? ChatTemplateSource { get; private set; }

    partial void LoadTokenizer()
    {
        _tokenizer = Tokenizer.FromGguf(_file);
        if (_tokenizer.VocabSize != Config.VocabSize)
            throw new Gguf.GgufFormatException(_file.Path, "metadata 'tokenizer.ggml.tokens'",
                $"{_tokenizer.VocabSize} tokens but token_embd.weight has {Config.VocabSize} rows");
        ChatTemplateSource = _file.TryGetString("tokenizer.chat_template", out string t) ? t : null;
    }
}

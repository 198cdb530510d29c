"""CLIP's BPE tokenizer (transformers' CLIPTokenizer without ftfy) over CLIP's real merges, and the
tokenizer/ folder that CLIPTokenizer.save_pretrained writes (vocab.json, merges.txt,
special_tokens_map.json, tokenizer_config.json).

`merges=None` keeps all 48 894 merges (vocabulary 49 408, as SD ships); a number keeps the first N
merges, for scaled-down fixtures (vocabulary 512 + N + 2, the same BPE on a shorter merge list).
The BPE itself is tools/train-tiny/clip_tokenizer.py's, checked there against transformers' output.
"""
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'train-tiny'))
shared = Path(__file__).resolve().parents[3] / 'shared' / 'data' / 'clip' / 'bpe_simple_vocab_16e6.txt.gz'

import clip_tokenizer  # noqa: E402

if shared.exists():
    clip_tokenizer.MERGES_GZ = str(shared)


class ClipBpeTokenizer(clip_tokenizer.CLIPTokenizer):
    model_max_length = 77

    def __init__(self, merges=None, pad_token='<|endoftext|>'):
        self.pad_token = pad_token
        self.merges = clip_tokenizer.load_merges()[:merges] if merges else clip_tokenizer.load_merges()
        self.encoder = clip_tokenizer.build_vocab(self.merges)
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.byte_encoder = clip_tokenizer.bytes_to_unicode()
        self.cache = {}
        self.bos = self.encoder['<|startoftext|>']
        self.eos = self.encoder['<|endoftext|>']
        self.pad = self.encoder[pad_token]

    @classmethod
    def from_folder(cls, folder):
        lines = (Path(folder) / 'merges.txt').read_text(encoding='utf-8').split('\n')
        count = len([line for line in lines[1:] if line.strip()])
        special = json.loads((Path(folder) / 'special_tokens_map.json').read_text())
        pad = special['pad_token'] if isinstance(special['pad_token'], str) else special['pad_token']['content']
        return cls(None if count >= 48894 else count, pad)

    def ids(self, text, max_length=77):
        """`padding='max_length', truncation=True`: BOS, tokens, EOS, then the pad token (EOS for SD 1.x, '!' for SD 2.x)."""
        ids = [self.bos] + self.encode(text)[: max_length - 2] + [self.eos]
        return ids + [self.pad] * (max_length - len(ids))

    def __call__(self, text, padding='max_length', max_length=77, truncation=True, return_tensors=None):
        import torch
        texts = [text] if isinstance(text, str) else list(text)
        rows = [self.ids(t, max_length) for t in texts]
        if return_tensors == 'pt':
            return SimpleNamespace(input_ids=torch.tensor(rows, dtype=torch.int64))
        return rows[0] if isinstance(text, str) else rows

    def write_folder(self, out):
        super().write_folder(out)
        for name in ('special_tokens_map.json', 'tokenizer_config.json'):
            path = os.path.join(out, name)
            with open(path) as handle:
                data = json.load(handle)
            data['pad_token'] = self.pad_token
            with open(path, 'w') as handle:
                json.dump(data, handle, indent=2)

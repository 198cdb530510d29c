"""Word-level WordPiece tokenizer for the multilingual encoder (HF tokenizers compatible).

Normalizer: BertNormalizer(clean_text, handle_chinese_chars, strip_accents=False, lowercase)
Pre-tokenizer: BertPreTokenizer (whitespace + punctuation split)
Model: WordPiece(vocab, [UNK], ##, 100). Post: [CLS] $A [SEP]; pad/truncate to 77.
"""
import json
import os
import unicodedata

import dataset

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
PAD, UNK, CLS, SEP = 0, 1, 2, 3
MAXLEN = 77


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B920 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Cn", "Co", "Cs")


def _is_ws(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def normalize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_ws(ch):
            out.append(" ")
        elif _is_cjk(cp):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    return "".join(out).lower()


def pre_tokenize(text):
    words, cur = [], []
    for ch in text:
        if _is_ws(ch):
            if cur:
                words.append("".join(cur)); cur = []
        elif _is_punct(ch):
            if cur:
                words.append("".join(cur)); cur = []
            words.append(ch)
        else:
            cur.append(ch)
    if cur:
        words.append("".join(cur))
    return words


def build_vocab():
    words = set()
    for cap in dataset.all_caption_strings():
        words.update(pre_tokenize(normalize(cap)))
    return {t: i for i, t in enumerate(SPECIALS + sorted(words))}


class MultilingualTokenizer:
    def __init__(self, vocab=None):
        self.vocab = vocab or build_vocab()

    def wordpiece(self, w):
        if len(w) > 100:
            return [UNK]
        out, start = [], 0
        while start < len(w):
            end, cur = len(w), None
            while start < end:
                sub = w[start:end] if start == 0 else "##" + w[start:end]
                if sub in self.vocab:
                    cur = self.vocab[sub]; break
                end -= 1
            if cur is None:
                return [UNK]
            out.append(cur); start = end
        return out

    def encode(self, text):
        ids = []
        for w in pre_tokenize(normalize(text)):
            ids.extend(self.wordpiece(w))
        return [CLS] + ids[: MAXLEN - 2] + [SEP]

    def __call__(self, text):
        ids = self.encode(text)
        mask = [1] * len(ids) + [0] * (MAXLEN - len(ids))
        return ids + [PAD] * (MAXLEN - len(ids)), mask

    def tokenizer_json(self):
        added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for i, t in enumerate(SPECIALS)]
        return {
            "version": "1.0",
            "truncation": {"direction": "Right", "max_length": MAXLEN, "strategy": "LongestFirst", "stride": 0},
            "padding": {"strategy": {"Fixed": MAXLEN}, "direction": "Right", "pad_to_multiple_of": None,
                        "pad_id": PAD, "pad_type_id": 0, "pad_token": "[PAD]"},
            "added_tokens": added,
            "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                           "strip_accents": False, "lowercase": True},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [CLS], "tokens": ["[CLS]"]},
                                   "[SEP]": {"id": "[SEP]", "ids": [SEP], "tokens": ["[SEP]"]}},
            },
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": self.vocab},
        }

    def write_folder(self, out):
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as fh:
            json.dump(self.tokenizer_json(), fh, ensure_ascii=False, indent=1)
        cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": MAXLEN, "pad_token": "[PAD]",
               "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "do_lower_case": True,
               "strip_accents": False, "tokenize_chinese_chars": True, "padding_side": "right",
               "truncation_side": "right", "clean_up_tokenization_spaces": True}
        with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as fh:
            json.dump(cfg, fh, ensure_ascii=False, indent=2)
        sp = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]"}
        with open(os.path.join(out, "special_tokens_map.json"), "w", encoding="utf-8") as fh:
            json.dump(sp, fh, indent=2)


def write_check(path):
    tok = MultilingualTokenizer()
    caps = []
    import itertools
    combos = [(0, 0, 2), (1, 1, 5), (2, 3, 4), (0, 6, 7), (1, 7, 6), (2, 4, 5), (0, 5, 4), (1, 2, 3)]
    for lang, (i, (s, f, b)) in itertools.product(dataset.LANGS, enumerate(combos[:7])):
        caps.append(dataset.caption(lang, dataset.SHAPES[s], dataset.COLOURS[f], dataset.COLOURS[b],
                                    0.38 if i % 2 else 0.66, i))
    caps += ["", "  Ein  GROSSES  Quadrat  ", "UN CARRÉ VERT", "Un Círculo ROJO, fondo Azul!", "红色圆形 on a 白色背景",
             "a red circle (unknownword) 紫", "ein weißes Dreieck auf schwarzem Hintergrund.", "cercle\trouge\nsur fond bleu"]
    rows = []
    for c in caps:
        ids, mask = tok(c)
        rows.append({"text": c, "ids": tok.encode(c), "input_ids": ids, "attention_mask": mask})
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"note": "expected ids for tokenizer_multilingual/tokenizer.json (padding to 77 with [PAD]=0)",
                   "cases": rows}, fh, ensure_ascii=False, indent=1)
    return rows


if __name__ == "__main__":
    t = MultilingualTokenizer()
    print("vocab", len(t.vocab))
    print(list(t.vocab)[:60])
    for c in ["蓝色背景上的红色圆形", "ein grünes Quadrat auf weißem Hintergrund", "Un CARRÉ vert, fond noir!"]:
        print(c, t.encode(c))

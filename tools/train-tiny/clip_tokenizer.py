"""Pure-Python CLIP BPE tokenizer (matches transformers' CLIPTokenizer without ftfy)
and generation of the diffusers `tokenizer/` folder files from the CLIP merges."""
import gzip
import json
import os
import re
import unicodedata
from functools import lru_cache

# ../shared beside the repository (as CI has it), or LATENTKIT_SHARED.
SHARED = os.environ.get("LATENTKIT_SHARED") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
MERGES_GZ = os.path.join(SHARED, "data", "clip", "bpe_simple_vocab_16e6.txt.gz")
BOS, EOS = 49406, 49407
MAXLEN = 77


@lru_cache()
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def load_merges():
    with gzip.open(MERGES_GZ, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    lines = lines[1:49152 - 256 - 2 + 1]
    return [tuple(l.split()) for l in lines]


def build_vocab(merges):
    v = list(bytes_to_unicode().values())
    v = v + [x + "</w>" for x in v]
    for m in merges:
        v.append("".join(m))
    v.extend(["<|startoftext|>", "<|endoftext|>"])
    return {t: i for i, t in enumerate(v)}


PAT = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+""", re.IGNORECASE)


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_clean(text):
    """BasicTokenizer(strip_accents=False, do_split_on_punc=False) path, then lower-case."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
            continue
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
            out.append(" ")
        elif _is_cjk(cp):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    return " ".join("".join(out).lower().split())


class CLIPTokenizer:
    def __init__(self):
        self.merges = load_merges()
        self.encoder = build_vocab(self.merges)
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.byte_encoder = bytes_to_unicode()
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = [(word[i], word[i + 1]) for i in range(len(word) - 1)]
            best = min(pairs, key=lambda p: self.ranks.get(p, 1e18))
            if best not in self.ranks:
                break
            a, b = best
            new, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                    new.append(a + b); i += 2
                else:
                    new.append(word[i]); i += 1
            word = new
        self.cache[token] = word
        return word

    def encode(self, text):
        ids = []
        for tok in PAT.findall(basic_clean(text)):
            t = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder[w] for w in self.bpe(t))
        return ids

    def __call__(self, text, maxlen=MAXLEN):
        ids = [BOS] + self.encode(text)[: maxlen - 2] + [EOS]
        return ids + [EOS] * (maxlen - len(ids))

    def write_folder(self, out):
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as fh:
            json.dump(self.encoder, fh, ensure_ascii=False)
        with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as fh:
            fh.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in self.merges) + "\n")
        special = {
            "bos_token": {"content": "<|startoftext|>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
            "eos_token": {"content": "<|endoftext|>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
            "unk_token": {"content": "<|endoftext|>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
            "pad_token": "<|endoftext|>",
        }
        with open(os.path.join(out, "special_tokens_map.json"), "w") as fh:
            json.dump(special, fh, indent=2)
        cfg = {
            "add_prefix_space": False,
            "bos_token": special["bos_token"],
            "eos_token": special["eos_token"],
            "unk_token": special["unk_token"],
            "pad_token": "<|endoftext|>",
            "clean_up_tokenization_spaces": True,
            "do_lower_case": True,
            "errors": "replace",
            "model_max_length": 77,
            "tokenizer_class": "CLIPTokenizer",
        }
        with open(os.path.join(out, "tokenizer_config.json"), "w") as fh:
            json.dump(cfg, fh, indent=2)


def verify(path=os.path.join(SHARED, "reference", "tokenizer", "corpus_public.json")):
    tok = CLIPTokenizer()
    cases = json.load(open(path, encoding="utf-8"))["cases"]
    ok = n = 0
    for c in cases:
        if not c["text"].isascii():
            continue
        n += 1
        got = tok(c["text"])
        if got == c["input_ids"] and [BOS] + tok.encode(c["text"]) + [EOS] == c["untruncated_ids"]:
            ok += 1
        else:
            print("MISMATCH", repr(c["text"]), got[:20], c["input_ids"][:20])
    print(f"CLIP tokenizer: {ok}/{n} ASCII reference cases match")
    return ok == n


if __name__ == "__main__":
    verify()

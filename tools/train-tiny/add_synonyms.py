"""Maps the colour words people type onto the words latentkit-tiny was trained on (synonyms.json).

The model knows one word per colour and language ("purple", "violetter", "violet", "morado", 紫);
people also write "violet", "lila", "mauve", "violeta", "púrpura". This step gives such a word
the trained word's embedding, without retraining:
- CLIP side: the text encoder maps CLIP ids to its rows with an in-graph int64 lookup table
  (`te.lut`, Gather); the synonym's CLIP id gets the trained word's row.
- multilingual side: the synonym joins the WordPiece vocabulary of tokenizer.json with the trained
  word's id (a vocabulary may map several words to one id; ids and the encoder's rows are unchanged).

Run after export.py (idempotent; refuses a synonym whose trained word is unknown):
  /usr/bin/python3 tools/train-tiny/add_synonyms.py [--model packages/model-tiny/model]
"""
import argparse
import json
import os

import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def clip_ids(vocab, word):
    token = word + "</w>"
    if token not in vocab:
        raise SystemExit(f"add_synonyms: '{word}' is not a single CLIP token ('{token}' is not in vocab.json); "
                         "only single-token words can be mapped on the CLIP side")
    return vocab[token]


def apply_clip(model, synonyms):
    vocab = json.load(open(os.path.join(model, "tokenizer", "vocab.json"), encoding="utf-8"))
    path = os.path.join(model, "text_encoder", "model.onnx")
    graph = onnx.load(path)
    lut = next((init for init in graph.graph.initializer if init.name == "te.lut"), None)
    if lut is None:
        raise SystemExit(f"add_synonyms: {path} has no 'te.lut' lookup table (not a latentkit-tiny text encoder)")
    table = numpy_helper.to_array(lut).copy()
    # The config records each synonym's row before this step, so that recover.py can rebuild the
    # export's own table (a synonym may have had a row of its own, e.g. CLIP's "violet").
    config_path = os.path.join(model, "text_encoder", "config.json")
    config = json.load(open(config_path, encoding="utf-8"))
    recorded = config.setdefault("latentkit_clip_synonyms", {})
    for word, trained in synonyms.items():
        row = table[clip_ids(vocab, trained)]
        if row == 0:
            raise SystemExit(f"add_synonyms: the trained word '{trained}' maps to the unknown row; fix synonyms.json")
        clip_id = clip_ids(vocab, word)
        previous = recorded.get(word, {}).get("previous_row", int(table[clip_id]))
        recorded[word] = {"clip_id": int(clip_id), "row": int(row), "previous_row": previous, "as": trained}
        table[clip_id] = row
        print(f"  CLIP: {word} -> row {int(row)} ({trained})")
    lut.CopyFrom(numpy_helper.from_array(table, "te.lut"))
    onnx.save(graph, path)
    with open(config_path, "w", encoding="utf-8") as out:
        json.dump(config, out, ensure_ascii=False, indent=2)
        out.write("\n")


def apply_multilingual(model, synonyms):
    path = os.path.join(model, "tokenizer_multilingual", "tokenizer.json")
    tokenizer = json.load(open(path, encoding="utf-8"))
    vocab = tokenizer["model"]["vocab"]
    for word, trained in synonyms.items():
        if trained not in vocab:
            raise SystemExit(f"add_synonyms: the trained word '{trained}' is not in {path}; fix synonyms.json")
        if word in vocab and vocab[word] != vocab[trained]:
            raise SystemExit(f"add_synonyms: '{word}' is already a trained word of its own (id {vocab[word]}); remove it from synonyms.json")
        vocab[word] = vocab[trained]
        print(f"  multilingual: {word} -> id {vocab[trained]} ({trained})")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(tokenizer, out, ensure_ascii=False, indent=1)
        out.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=os.path.join(HERE, "..", "..", "packages", "model-tiny", "model"))
    parser.add_argument("--synonyms", default=os.path.join(HERE, "synonyms.json"))
    args = parser.parse_args()
    synonyms = json.load(open(args.synonyms, encoding="utf-8"))
    apply_clip(args.model, synonyms["clip"])
    apply_multilingual(args.model, synonyms["multilingual"])


if __name__ == "__main__":
    main()

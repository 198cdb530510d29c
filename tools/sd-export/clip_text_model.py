"""transformers' CLIPTextModel (4.36), re-implemented in plain PyTorch.

transformers cannot be installed on this machine (it is not packaged for Debian bookworm and its
source is too large to vendor), so sd-export builds the text encoder from this file. The module
tree, parameter names, initialisation scales and forward pass are transformers':
`text_model.embeddings.{token,position}_embedding`, `text_model.encoder.layers.N.{self_attn.{q,k,v,out}_proj,
layer_norm1, mlp.fc1, mlp.fc2, layer_norm2}`, `text_model.final_layer_norm`; a causal mask; the
pooled output is the state at the first end-of-text token (`argmax` of the ids, as transformers
does for the original CLIP configs whose `eos_token_id` is 2). A `pytorch_model.bin` saved from it
loads into transformers' CLIPTextModel unchanged.
"""
import math

import torch
from torch import nn


class CLIPTextConfig:
    """The subset of transformers' CLIPTextConfig the model uses; `to_dict()` is its config.json."""

    def __init__(self, vocab_size=49408, hidden_size=768, intermediate_size=3072, projection_dim=768,
                 num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=77,
                 hidden_act='quick_gelu', layer_norm_eps=1e-5, bos_token_id=0, eos_token_id=2, pad_token_id=1):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.projection_dim = projection_dim
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.max_position_embeddings = max_position_embeddings
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        self.pad_token_id = pad_token_id

    def to_dict(self):
        return {
            '_name_or_path': 'sd-export',
            'architectures': ['CLIPTextModel'],
            'attention_dropout': 0.0,
            'bos_token_id': self.bos_token_id,
            'dropout': 0.0,
            'eos_token_id': self.eos_token_id,
            'hidden_act': self.hidden_act,
            'hidden_size': self.hidden_size,
            'initializer_factor': 1.0,
            'initializer_range': 0.02,
            'intermediate_size': self.intermediate_size,
            'layer_norm_eps': self.layer_norm_eps,
            'max_position_embeddings': self.max_position_embeddings,
            'model_type': 'clip_text_model',
            'num_attention_heads': self.num_attention_heads,
            'num_hidden_layers': self.num_hidden_layers,
            'pad_token_id': self.pad_token_id,
            'projection_dim': self.projection_dim,
            'torch_dtype': 'float32',
            'transformers_version': '4.36.2',
            'vocab_size': self.vocab_size,
        }


def _activation(name):
    if name == 'quick_gelu':
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == 'gelu':
        return nn.functional.gelu
    raise ValueError(f'unsupported hidden_act {name!r}')


class CLIPEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embedding = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.register_buffer('position_ids', torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False)

    def forward(self, input_ids):
        positions = self.position_ids[:, : input_ids.shape[-1]]
        return self.token_embedding(input_ids) + self.position_embedding(positions)


class CLIPAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.heads
        self.scale = self.head_dim ** -0.5
        width = config.hidden_size
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.q_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, hidden, causal_mask):
        batch, length, width = hidden.shape

        def heads(x):
            return x.view(batch, length, self.heads, self.head_dim).transpose(1, 2)

        query = heads(self.q_proj(hidden) * self.scale)
        key = heads(self.k_proj(hidden))
        value = heads(self.v_proj(hidden))
        weights = torch.matmul(query, key.transpose(-1, -2)) + causal_mask
        weights = nn.functional.softmax(weights, dim=-1)
        out = torch.matmul(weights, value).transpose(1, 2).reshape(batch, length, width)
        return self.out_proj(out)


class CLIPMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.activation_fn = _activation(config.hidden_act)
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, hidden):
        return self.fc2(self.activation_fn(self.fc1(hidden)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn = CLIPAttention(config)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden, causal_mask):
        hidden = hidden + self.self_attn(self.layer_norm1(hidden), causal_mask)
        return hidden + self.mlp(self.layer_norm2(hidden))


class CLIPEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(config) for _ in range(config.num_hidden_layers)])


class CLIPTextTransformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embeddings = CLIPEmbeddings(config)
        self.encoder = CLIPEncoder(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids):
        length = input_ids.shape[-1]
        hidden = self.embeddings(input_ids)
        # transformers' _create_4d_causal_attention_mask: the dtype's minimum above the diagonal.
        mask = torch.full((length, length), torch.finfo(hidden.dtype).min, dtype=hidden.dtype)
        mask = torch.triu(mask, diagonal=1)[None, None]
        for layer in self.encoder.layers:
            hidden = layer(hidden, mask)
        last = self.final_layer_norm(hidden)
        pooled = last[torch.arange(last.shape[0]), input_ids.to(dtype=torch.int, device=last.device).argmax(dim=-1)]
        return last, pooled


class CLIPTextModel(nn.Module):
    """`forward(input_ids)` → `(last_hidden_state, pooler_output)`, as transformers with return_dict=False."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.text_model = CLIPTextTransformer(config)
        self._init_weights()

    def _init_weights(self):
        # transformers' CLIPPreTrainedModel._init_weights (initializer_factor 1).
        config, factor = self.config, 1.0
        for module in self.modules():
            if isinstance(module, CLIPEmbeddings):
                nn.init.normal_(module.token_embedding.weight, std=0.02 * factor)
                nn.init.normal_(module.position_embedding.weight, std=0.02 * factor)
            elif isinstance(module, CLIPAttention):
                in_std = (config.hidden_size ** -0.5) * ((2 * config.num_hidden_layers) ** -0.5) * factor
                out_std = (config.hidden_size ** -0.5) * factor
                for projection in (module.q_proj, module.k_proj, module.v_proj):
                    nn.init.normal_(projection.weight, std=in_std)
                nn.init.normal_(module.out_proj.weight, std=out_std)
            elif isinstance(module, CLIPMLP):
                in_std = (config.hidden_size ** -0.5) * ((2 * config.num_hidden_layers) ** -0.5) * factor
                fc_std = (2 * config.hidden_size) ** -0.5 * factor
                nn.init.normal_(module.fc1.weight, std=fc_std)
                nn.init.normal_(module.fc2.weight, std=in_std)
            if isinstance(module, nn.LayerNorm):
                module.bias.data.zero_()
                module.weight.data.fill_(1.0)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.data.zero_()

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    def forward(self, input_ids, *args, **kwargs):
        return self.text_model(input_ids)

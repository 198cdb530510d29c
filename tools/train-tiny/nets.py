"""Text encoders and the conditional UNet (diffusers-shaped, written from scratch)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from vae import ResBlock, Upsample


class Lin(nn.Linear):
    """nn.Linear computed as a 1x1 convolution: this torch build has a generic (slow) BLAS but
    fast oneDNN convolutions. Exact same maths; exported to ONNX as a plain MatMul/Gemm."""

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return F.linear(x, self.weight, self.bias)
        shp = x.shape
        y = F.conv2d(x.reshape(-1, shp[-1], 1, 1), self.weight[:, :, None, None], self.bias)
        return y.reshape(*shp[:-1], self.out_features)


def attention(q, k, v, heads, mask=None):
    B, Lq, C = q.shape
    Lk = k.shape[1]
    d = C // heads
    q = q.reshape(B, Lq, heads, d).transpose(1, 2)
    k = k.reshape(B, Lk, heads, d).transpose(1, 2)
    v = v.reshape(B, Lk, heads, d).transpose(1, 2)
    if torch.onnx.is_in_onnx_export():
        w = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d))
    else:  # einsum avoids the strided-copy path of this build's generic BLAS (faster on CPU)
        w = torch.einsum("bhid,bhjd->bhij", q, k) * (1.0 / math.sqrt(d))
    if mask is not None:
        w = w + mask
    w = torch.softmax(w, dim=-1)
    if torch.onnx.is_in_onnx_export():
        o = torch.matmul(w, v)
    else:
        o = torch.einsum("bhij,bhjd->bhid", w, v)
    return o.transpose(1, 2).reshape(B, Lq, C)


class MHA(nn.Module):
    def __init__(self, dim, heads, ctx_dim=None):
        super().__init__()
        ctx_dim = ctx_dim or dim
        self.heads = heads
        self.q = Lin(dim, dim, bias=False)
        self.k = Lin(ctx_dim, dim, bias=False)
        self.v = Lin(ctx_dim, dim, bias=False)
        self.o = Lin(dim, dim)

    def forward(self, x, ctx=None, mask=None):
        ctx = x if ctx is None else ctx
        return self.o(attention(self.q(x), self.k(ctx), self.v(ctx), self.heads, mask))


class EncLayer(nn.Module):
    def __init__(self, dim, heads, ff):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = MHA(dim, heads)
        self.attn.q.bias = nn.Parameter(torch.zeros(dim))
        self.attn.k.bias = nn.Parameter(torch.zeros(dim))
        self.attn.v.bias = nn.Parameter(torch.zeros(dim))
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = Lin(dim, ff)
        self.fc2 = Lin(ff, dim)

    def forward(self, x, mask):
        x = x + self.attn(self.ln1(x), mask=mask)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class CLIPTextTiny(nn.Module):
    """CLIP-like causal pre-LN text transformer over a remapped small vocabulary."""

    def __init__(self, known_ids, dim=128, layers=3, heads=4, ff=512, maxlen=77):
        super().__init__()
        lut = torch.zeros(49408, dtype=torch.long)  # row 0 = unknown
        for i, t in enumerate(sorted(known_ids)):
            lut[t] = i + 1
        self.register_buffer("lut", lut)
        self.known_ids = sorted(known_ids)
        self.tok = nn.Embedding(len(known_ids) + 1, dim)
        self.pos = nn.Parameter(torch.randn(maxlen, dim) * 0.01)
        self.layers = nn.ModuleList([EncLayer(dim, heads, ff) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        mask = torch.full((maxlen, maxlen), -1e4).triu(1)
        self.register_buffer("causal", mask)
        nn.init.normal_(self.tok.weight, std=0.02)

    def forward(self, input_ids):
        ids = input_ids.long()
        x = self.tok(self.lut[ids]) + self.pos
        for l in self.layers:
            x = l(x, self.causal)
        x = self.ln_f(x)
        eos = ids.float().argmax(dim=-1)  # first position of the max id (<|endoftext|>), as CLIP
        pooled = x[torch.arange(x.shape[0]), eos]
        return x, pooled


class MultilingualTiny(nn.Module):
    """BERT-like bidirectional encoder (pre-LN) over the word-level multilingual vocabulary."""

    def __init__(self, vocab_size, dim=128, layers=3, heads=4, ff=512, maxlen=77, local=0):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.randn(maxlen, dim) * 0.01)
        # optional n-gram mixing before the transformer: each token sees its `local` neighbours directly
        # (Chinese marks a colour's role two characters later: 蓝色背景 = background, 蓝色圆形 = shape);
        # zero-initialised, so adding it to a trained encoder starts from the same function
        self.local = None
        if local:
            self.local = nn.Conv1d(dim, dim, local, padding=local // 2)
            nn.init.zeros_(self.local.weight); nn.init.zeros_(self.local.bias)
        self.layers = nn.ModuleList([EncLayer(dim, heads, ff) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        nn.init.normal_(self.tok.weight, std=0.02)

    def forward(self, input_ids, attention_mask):
        x = self.tok(input_ids.long()) + self.pos
        if self.local is not None:
            x = x + self.local(x.transpose(1, 2)).transpose(1, 2)
        mask = (1.0 - attention_mask.to(x.dtype))[:, None, None, :] * -1e4
        for l in self.layers:
            x = l(x, mask)
        return self.ln_f(x)


def multilingual_from_state(state, vocab_size):
    """A MultilingualTiny shaped by its state dict (with or without the `local` n-gram convolution)."""
    local = state["local.weight"].shape[-1] if "local.weight" in state else 0
    m = MultilingualTiny(vocab_size, local=local)
    m.load_state_dict(state)
    return m


# ------------------------------------------------------------------- UNet


def timestep_embedding(t, dim, max_period=10000.0):
    half = dim // 2
    ex = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    a = t.float()[:, None] * ex[None, :]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=-1)  # flip_sin_to_cos=True, freq_shift=0


class GEGLU(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.proj = Lin(dim, dim * mult * 2)
        self.out = Lin(dim * mult, dim)

    def forward(self, x):
        a, g = self.proj(x).chunk(2, dim=-1)
        return self.out(a * F.gelu(g))


class Transformer2D(nn.Module):
    def __init__(self, ch, heads, ctx_dim, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch, eps=1e-6)
        self.proj_in = Lin(ch, ch)
        self.ln1 = nn.LayerNorm(ch)
        self.attn1 = MHA(ch, heads)
        self.ln2 = nn.LayerNorm(ch)
        self.attn2 = MHA(ch, heads, ctx_dim)
        self.ln3 = nn.LayerNorm(ch)
        self.ff = GEGLU(ch)
        self.proj_out = Lin(ch, ch)
        self.heads = heads

    def forward(self, x, ctx):
        B, C, H, W = x.shape
        h = self.norm(x).reshape(B, C, H * W).transpose(1, 2)
        h = self.proj_in(h)
        h = h + self.attn1(self.ln1(h))
        h = h + self.attn2(self.ln2(h), ctx)
        h = h + self.ff(self.ln3(h))
        h = self.proj_out(h).transpose(1, 2).reshape(B, C, H, W)
        return x + h


UNET_CFG = dict(block_out_channels=[64, 128, 128], layers_per_block=1, attention_head_dim=4,
                cross_attention_dim=128, norm_num_groups=32, attn_levels=[False, True, True])


class UNetTiny(nn.Module):
    def __init__(self, cfg=UNET_CFG):
        super().__init__()
        ch = cfg["block_out_channels"]
        L = cfg["layers_per_block"]
        G = cfg["norm_num_groups"]
        heads = cfg["attention_head_dim"]
        ctx = cfg["cross_attention_dim"]
        attn = cfg["attn_levels"]
        temb = ch[0] * 4
        self.ch0 = ch[0]
        self.time_embedding = nn.Sequential(Lin(ch[0], temb), nn.SiLU(), Lin(temb, temb))
        # optional global text pathway (like diffusers' addition_embed_type="text"): mean of the 77 text states
        # -> MLP -> added to the time embedding; last layer zero-initialised
        self.text_time = None
        if cfg.get("text_time"):
            self.text_time = nn.Sequential(Lin(ctx, temb), nn.SiLU(), Lin(temb, temb))
            nn.init.zeros_(self.text_time[2].weight); nn.init.zeros_(self.text_time[2].bias)
        self.conv_in = nn.Conv2d(4, ch[0], 3, padding=1)
        self.down = nn.ModuleList()
        skips = [ch[0]]
        c = ch[0]
        for i, co in enumerate(ch):
            for _ in range(L):
                self.down.append(nn.ModuleList([ResBlock(c, co, G, temb),
                                                Transformer2D(co, heads, ctx, G) if attn[i] else nn.Identity()]))
                c = co
                skips.append(c)
            if i < len(ch) - 1:
                self.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid1 = ResBlock(c, c, G, temb)
        self.mid_attn = Transformer2D(c, heads, ctx, G)
        self.mid2 = ResBlock(c, c, G, temb)
        self.up = nn.ModuleList()
        for i, co in enumerate(reversed(ch)):
            lvl = len(ch) - 1 - i
            for _ in range(L + 1):
                self.up.append(nn.ModuleList([ResBlock(c + skips.pop(), co, G, temb),
                                              Transformer2D(co, heads, ctx, G) if attn[lvl] else nn.Identity()]))
                c = co
            if lvl > 0:
                self.up.append(Upsample(c))
        self.norm_out = nn.GroupNorm(G, c, eps=1e-6)
        self.conv_out = nn.Conv2d(c, 4, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight); nn.init.zeros_(self.conv_out.bias)

    def forward(self, sample, timestep, encoder_hidden_states):
        t = self.time_embedding(timestep_embedding(timestep, self.ch0))
        if self.text_time is not None:
            t = t + self.text_time(encoder_hidden_states.mean(dim=1))
        h = self.conv_in(sample)
        hs = [h]
        for m in self.down:
            if isinstance(m, nn.ModuleList):
                h = m[0](h, t)
                h = m[1](h, encoder_hidden_states) if isinstance(m[1], Transformer2D) else h
            else:
                h = m(h)
            hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, t), encoder_hidden_states), t)
        for m in self.up:
            if isinstance(m, nn.ModuleList):
                h = m[0](torch.cat([h, hs.pop()], dim=1), t)
                h = m[1](h, encoder_hidden_states) if isinstance(m[1], Transformer2D) else h
            else:
                h = m(h)
        return self.conv_out(F.silu(self.norm_out(h)))


# ---------------------------------------------------------------- schedule
def sd_alphas_cumprod():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()

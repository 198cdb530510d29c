"""Small KL autoencoder: 64x64x3 <-> 4x16x16 (AutoencoderKL-shaped)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

VAE_CFG = dict(block_out_channels=[32, 64, 128], layers_per_block=1, norm_num_groups=16,
               latent_channels=4)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, groups, temb=0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(temb, cout) if temb else None
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, t=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.temb is not None:
            h = h + self.temb(F.silu(t))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class Encoder(nn.Module):
    def __init__(self, ch=(32, 64, 128), layers=1, groups=16, zc=4):
        super().__init__()
        self.conv_in = nn.Conv2d(3, ch[0], 3, padding=1)
        blocks = []
        c = ch[0]
        for i, co in enumerate(ch):
            for _ in range(layers):
                blocks.append(ResBlock(c, co, groups)); c = co
            if i < len(ch) - 1:
                blocks.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.blocks = nn.Sequential(*blocks)
        self.mid = ResBlock(c, c, groups)
        self.norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.conv_out = nn.Conv2d(c, 2 * zc, 3, padding=1)

    def forward(self, x):
        h = self.mid(self.blocks(self.conv_in(x)))
        return self.conv_out(F.silu(self.norm(h)))  # [B, 8, 16, 16] = mean, logvar


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Decoder(nn.Module):
    def __init__(self, ch=(32, 64, 128), layers=1, groups=16, zc=4):
        super().__init__()
        rch = list(reversed(ch))
        c = rch[0]
        self.conv_in = nn.Conv2d(zc, c, 3, padding=1)
        self.mid = ResBlock(c, c, groups)
        blocks = []
        for i, co in enumerate(rch):
            for _ in range(layers + 1):
                blocks.append(ResBlock(c, co, groups)); c = co
            if i < len(rch) - 1:
                blocks.append(Upsample(c))
        self.blocks = nn.Sequential(*blocks)
        self.norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.conv_out = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, z):
        h = self.blocks(self.mid(self.conv_in(z)))
        return self.conv_out(F.silu(self.norm(h)))


class VAE(nn.Module):
    def __init__(self, cfg=VAE_CFG):
        super().__init__()
        ch = tuple(cfg["block_out_channels"])
        self.encoder = Encoder(ch, cfg["layers_per_block"], cfg["norm_num_groups"], cfg["latent_channels"])
        self.decoder = Decoder(ch, cfg["layers_per_block"], cfg["norm_num_groups"], cfg["latent_channels"])

    def encode(self, x):
        p = self.encoder(x)
        mean, logvar = p.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z):
        return self.decoder(z)


SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4.0


def sobel(x):
    c = x.shape[1]
    kx = SOBEL.to(x).view(1, 1, 3, 3).repeat(c, 1, 1, 1)
    ky = SOBEL.t().to(x).reshape(1, 1, 3, 3).repeat(c, 1, 1, 1)
    return F.conv2d(x, kx, groups=c, padding=1), F.conv2d(x, ky, groups=c, padding=1)

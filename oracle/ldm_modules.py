"""PyTorch re-implementation of the course project's modules, written from
/work/shared/ORIGINAL.md only. Module attribute names are chosen so that
`state_dict()` keys are exactly the spec's keys (net.0, to_out.0, downs.0.4.1, ...).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def normalization(channels):
    # The spec's normalization(c): GroupNorm with 16 groups, eps 1e-5.
    return nn.GroupNorm(16, channels, eps=1e-5)


class FeedForward(nn.Module):
    def __init__(self, dim, dim_out=None, mult=4, dropout=0.0):
        super().__init__()
        inner = int(dim * mult)
        # Indices 0..3 give the keys net.0 and net.3; GELU is the exact erf form.
        self.net = nn.Sequential(
            nn.Linear(dim, inner), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(inner, dim if dim_out is None else dim_out))

    def forward(self, x):
        return self.net(x)


class CrossAttention(nn.Module):
    def __init__(self, query_dim, context_dim=None, heads=8, dim_head=64, dropout=0.0):
        super().__init__()
        inner = heads * dim_head
        context_dim = query_dim if context_dim is None else context_dim
        self.heads, self.dim_head = heads, dim_head
        self.scale = dim_head ** -0.5
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(dropout))

    def _split_heads(self, t):
        # [B, N, H*D] -> [B, H, N, D]  (heads are the leading part of the last axis)
        b, n, _ = t.shape
        return t.reshape(b, n, self.heads, self.dim_head).transpose(1, 2)

    def attention_probs(self, x, context=None):
        """softmax(q k^T * dim_head^-0.5): [B, H, N, M]; exposed for the saturation test."""
        context = x if context is None else context
        q = self._split_heads(self.to_q(x))
        k = self._split_heads(self.to_k(context))
        return torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)

    def forward(self, x, context=None):
        ctx = x if context is None else context
        attn = self.attention_probs(x, context)           # [B, H, N, M]
        v = self._split_heads(self.to_v(ctx))             # [B, H, M, D]
        out = attn @ v                                    # [B, H, N, D]
        b, _, n, _ = out.shape
        out = out.transpose(1, 2).reshape(b, n, self.heads * self.dim_head)  # [B, N, H*D]
        return self.to_out(out)


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, n_heads, d_head, dropout=0.0, context_dim=None):
        super().__init__()
        self.attn1 = CrossAttention(dim, None, n_heads, d_head, dropout)         # self
        self.ff = FeedForward(dim, dropout=dropout)
        self.attn2 = CrossAttention(dim, context_dim, n_heads, d_head, dropout)  # cross
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.norm3 = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, x, context=None):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x  # self-attention when context is None
        return self.ff(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    def __init__(self, in_channels, n_heads, d_head, depth=1, dropout=0.0, context_dim=None):
        super().__init__()
        inner = n_heads * d_head
        self.norm = nn.GroupNorm(16, in_channels, eps=1e-6)  # its own eps, per the spec
        self.proj_in = nn.Conv2d(in_channels, inner, 1)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner, n_heads, d_head, dropout, context_dim)
             for _ in range(depth)])
        self.proj_out = nn.Conv2d(inner, in_channels, 1)

    def forward(self, x, context=None):
        b, _, h, w = x.shape
        y = self.proj_in(self.norm(x))                    # [B, C', H, W]
        c = y.shape[1]
        y = y.reshape(b, c, h * w).transpose(1, 2)        # [B, H*W, C']
        for block in self.transformer_blocks:
            y = block(y, context)
        y = y.transpose(1, 2).reshape(b, c, h, w)         # [B, C', H, W]
        return self.proj_out(y) + x


class SinusoidalPosEmb(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, time):
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000) / (half - 1)))
        args = time.to(torch.float32)[:, None] * freqs[None, :]   # [B, half]
        emb = torch.cat([args.sin(), args.cos()], dim=-1)
        if self.dim % 2 == 1:
            emb = F.pad(emb, (0, 1))                       # odd dim: one zero column
        return emb


class ResnetBlock(nn.Module):
    def __init__(self, dim, dim_out, time_emb_dim, dropout=0.0):
        super().__init__()
        self.time_emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(time_emb_dim, 2 * dim_out))
        self.in_layers = nn.Sequential(normalization(dim), nn.SiLU(),
                                       nn.Conv2d(dim, dim_out, 3, padding=1))
        self.out_layers = nn.Sequential(normalization(dim_out), nn.SiLU(), nn.Dropout(dropout),
                                        nn.Conv2d(dim_out, dim_out, 3, padding=1))
        # Only a channel change needs a learned skip; otherwise it is the identity.
        self.skip_connection = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x, time_emb):
        h = self.in_layers(x)
        emb = self.time_emb_layers(time_emb)[:, :, None, None]   # [B, 2*dim_out, 1, 1]
        scale, shift = emb.chunk(2, dim=1)
        h = self.out_layers[0](h) * (1 + scale) + shift
        h = self.out_layers[1:](h)                               # SiLU, Dropout, conv
        return h + self.skip_connection(x)


def _st(channels, dropout, context_dim):
    # Transformers inside the Unet: n_heads 4, d_head 32, depth 1.
    return SpatialTransformer(channels, 4, 32, 1, dropout, context_dim)


class Unet(nn.Module):
    def __init__(self, dim, init_dim=None, out_dim=None, dim_mults=(1, 2, 4), channels=3,
                 context_dim=None, dropout=0.0):
        super().__init__()
        init_dim = dim if init_dim is None else init_dim
        out_dim = channels if out_dim is None else out_dim
        dims = [init_dim] + [dim * m for m in dim_mults]
        pairs = list(zip(dims[:-1], dims[1:]))
        time_dim = 4 * dim
        self.init_conv = nn.Conv2d(channels, init_dim, 7, padding=3)
        self.time_mlp = nn.Sequential(SinusoidalPosEmb(dim), nn.Linear(dim, time_dim),
                                      nn.SiLU(), nn.Linear(time_dim, time_dim))
        res = lambda a, b: ResnetBlock(a, b, time_dim, dropout)  # noqa: E731
        self.downs = nn.ModuleList()
        for i, (a, b) in enumerate(pairs):
            last = i == len(pairs) - 1
            # Space-to-depth (c, p1, p2 order = pixel_unshuffle), then 1x1 conv 4a -> b.
            down = (nn.Conv2d(a, b, 3, padding=1) if last else
                    nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4 * a, b, 1)))
            self.downs.append(nn.ModuleList([res(a, a), _st(a, dropout, context_dim),
                                             res(a, a), _st(a, dropout, context_dim), down]))
        mid = dims[-1]
        self.mid_block1 = res(mid, mid)
        self.mid_attn = _st(mid, dropout, context_dim)
        self.mid_block2 = res(mid, mid)
        self.ups = nn.ModuleList()
        for i, (a, b) in enumerate(reversed(pairs)):
            last = i == len(pairs) - 1
            up = (nn.Conv2d(b, a, 3, padding=1) if last else
                  nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                nn.Conv2d(b, a, 3, padding=1)))
            self.ups.append(nn.ModuleList([res(b + a, b), _st(b, dropout, context_dim),
                                           res(b + a, b), _st(b, dropout, context_dim), up]))
        self.final_conv = nn.Conv2d(2 * init_dim, init_dim, 3, padding=1)
        self.out = nn.Sequential(normalization(init_dim), nn.SiLU(),
                                 nn.Conv2d(init_dim, out_dim, 3, padding=1))

    def forward(self, x, time, context=None):
        x = self.init_conv(x)
        r = x
        t = self.time_mlp(time)
        skips = []
        for res1, st1, res2, st2, down in self.downs:
            x = st1(res1(x, t), context)
            skips.append(x)
            x = st2(res2(x, t), context)
            skips.append(x)
            x = down(x)
        x = self.mid_block2(self.mid_attn(self.mid_block1(x, t), context), t)
        for res1, st1, res2, st2, up in self.ups:
            x = st1(res1(torch.cat([x, skips.pop()], dim=1), t), context)
            x = st2(res2(torch.cat([x, skips.pop()], dim=1), t), context)
            x = up(x)
        x = self.final_conv(torch.cat([x, r], dim=1))
        return self.out(x)


# ---- beta schedules (float32, as torch's defaults) ----
def linear_beta_schedule(timesteps):
    return torch.linspace(1e-4, 0.02, timesteps)


def quadratic_beta_schedule(timesteps):
    return torch.linspace(1e-4 ** 0.5, 0.02 ** 0.5, timesteps) ** 2


def sigmoid_beta_schedule(timesteps):
    return torch.sigmoid(torch.linspace(-6, 6, timesteps)) * (0.02 - 1e-4) + 1e-4


def cosine_beta_schedule(timesteps, s=0.008):
    # Nichol & Dhariwal: alpha_bar(t) = cos^2(((t/T) + s) / (1 + s) * pi/2), normalised.
    x = torch.linspace(0, timesteps, timesteps + 1)
    ab = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
    ab = ab / ab[0]
    return torch.clip(1 - ab[1:] / ab[:-1], 1e-4, 0.9999)


SCHEDULES = {"linear": linear_beta_schedule, "cosine": cosine_beta_schedule,
             "quadratic": quadratic_beta_schedule, "sigmoid": sigmoid_beta_schedule}


class Scheduler:
    """Precomputed diffusion terms; names match the fixture outputs."""

    def __init__(self, schedule, timesteps):
        betas = SCHEDULES[schedule](timesteps)
        alphas = 1.0 - betas
        ab = torch.cumprod(alphas, dim=0)
        ab_prev = F.pad(ab[:-1], (1, 0), value=1.0)        # alpha_bar_prev[0] = 1
        self.betas = betas
        self.sqrt_reciprocal_alphas = torch.sqrt(1.0 / alphas)
        self.sqrt_alphas_cumprod = torch.sqrt(ab)
        self.sqrt_one_minus_alphas_cumprod = torch.sqrt(1.0 - ab)
        self.posterior_variance = betas * (1.0 - ab_prev) / (1.0 - ab)

    TERMS = ("betas", "sqrt_reciprocal_alphas", "sqrt_alphas_cumprod",
             "sqrt_one_minus_alphas_cumprod", "posterior_variance")


def extract(a, t, x_shape):
    # a[t] per batch element, shaped [B, 1, 1, ...] to broadcast over x.
    return a.gather(-1, t).reshape(t.shape[0], *([1] * (len(x_shape) - 1)))


def q_sample(sched, x_start, t, noise):
    return (extract(sched.sqrt_alphas_cumprod, t, x_start.shape) * x_start
            + extract(sched.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)


LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss,
          "huber": lambda a, b: F.smooth_l1_loss(a, b, beta=1.0)}


def p_losses(model, sched, x_start, t, noise, context=None, loss_type="l1"):
    predicted_noise = model(q_sample(sched, x_start, t, noise), t, context)
    return LOSSES[loss_type](noise, predicted_noise)


def p_sample(model, sched, x, t, t_index, noise, context=None):
    betas_t = extract(sched.betas, t, x.shape)
    s1m_t = extract(sched.sqrt_one_minus_alphas_cumprod, t, x.shape)
    sra_t = extract(sched.sqrt_reciprocal_alphas, t, x.shape)
    mean = sra_t * (x - betas_t * model(x, t, context) / s1m_t)
    if t_index == 0:
        return mean
    return mean + torch.sqrt(extract(sched.posterior_variance, t, x.shape)) * noise

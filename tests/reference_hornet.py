"""An independent NCHW re-statement of the official HorNet layers, used only
as a numerical reference in tests (github.com/raoyongming/HorNet, hornet.py).
It reads its weights from mmhornet modules so both compute with the same
parameters, but shares none of mmhornet's code paths."""
import torch
import torch.nn.functional as F


def ln_channels_first(x, weight, bias, eps=1e-6):
    u = x.mean(1, keepdim=True)
    s = (x - u).pow(2).mean(1, keepdim=True)
    x = (x - u) / torch.sqrt(s + eps)
    return weight[:, None, None] * x + bias[:, None, None]


def global_local_filter(gf, x):
    """Official GlobalLocalFilter.forward with gf's parameters."""
    x = ln_channels_first(x, gf.pre_norm.weight, gf.pre_norm.bias)
    x1, x2 = torch.chunk(x, 2, dim=1)
    x1 = F.conv2d(x1, gf.dw.weight, None, padding=1, groups=x1.shape[1])
    x2 = x2.to(torch.float32)
    B, C, a, b = x2.shape
    x2 = torch.fft.rfft2(x2, dim=(2, 3), norm='ortho')
    weight = gf.complex_weight
    if not weight.shape[1:3] == x2.shape[2:4]:
        weight = F.interpolate(
            weight.permute(3, 0, 1, 2),
            size=x2.shape[2:4],
            mode='bilinear',
            align_corners=True).permute(1, 2, 3, 0)
    weight = torch.view_as_complex(weight.contiguous())
    x2 = torch.fft.irfft2(x2 * weight, s=(a, b), dim=(2, 3), norm='ortho')
    x = torch.cat([x1.unsqueeze(2), x2.unsqueeze(2)],
                  dim=2).reshape(B, 2 * C, a, b)
    return ln_channels_first(x, gf.post_norm.weight, gf.post_norm.bias)


def gnconv(m, x):
    """Official gnconv.forward (NCHW) with the parameters of an mmhornet
    ``GnConv`` ``m``."""
    fused_x = F.conv2d(x, m.proj_in.weight, m.proj_in.bias)
    pwa, abc = torch.split(fused_x, (m.dims[0], sum(m.dims)), dim=1)
    if isinstance(m.dwconv, torch.nn.Conv2d):
        k = m.dwconv.kernel_size[0]
        dw_abc = F.conv2d(
            abc,
            m.dwconv.weight,
            m.dwconv.bias,
            padding=(k - 1) // 2,
            groups=abc.shape[1])
    else:
        dw_abc = global_local_filter(m.dwconv, abc)
    dw_list = torch.split(dw_abc * m.scale, m.dims, dim=1)
    x = pwa * dw_list[0]
    for i in range(m.order - 1):
        x = F.conv2d(x, m.projs[i].weight, m.projs[i].bias) * dw_list[i + 1]
    return F.conv2d(x, m.proj_out.weight, m.proj_out.bias)


def rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()

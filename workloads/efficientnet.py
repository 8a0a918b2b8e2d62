"""EfficientNet-B0/B1: Tan and Le, "EfficientNet: Rethinking Model Scaling for CNNs", ICML 2019,
Table 1 (B0 baseline), compound scaling (B1: width 1.0, depth 1.1, 240x240). MBConv blocks with
squeeze-and-excitation (squeeze to a quarter of the block's input channels), SiLU; stochastic
depth is the identity at inference and has no parameters."""

from __future__ import annotations

import math

import torch
from torch import nn

# expand ratio, kernel, stride, in channels, out channels, repeats -- the paper's Table 1
STAGES = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
          (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1))


def _divisible(v, d=8):
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def conv_bn_act(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.act = nn.SiLU()
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = self.gate(self.fc2(self.act(self.fc1(self.avgpool(x)))))
        return x * s


class MBConv(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        hidden = _divisible(cin * expand)
        self.use_res = stride == 1 and cin == cout
        layers = []
        if hidden != cin:
            layers.append(conv_bn_act(cin, hidden, 1))
        layers += [conv_bn_act(hidden, hidden, k, stride, groups=hidden),
                   SqueezeExcitation(hidden, max(1, cin // 4)),
                   conv_bn_act(hidden, cout, 1, act=False)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res:
            return self.block(x) + x
        return self.block(x)


class EfficientNet(nn.Module):
    def __init__(self, width=1.0, depth=1.0, dropout=0.2, num_classes=1000):
        super().__init__()
        stem = _divisible(32 * width)
        feats = [conv_bn_act(3, stem, 3, 2)]
        for expand, k, stride, cin, cout, n in STAGES:
            cin, cout = _divisible(cin * width), _divisible(cout * width)
            blocks = []
            for i in range(int(math.ceil(n * depth))):
                blocks.append(MBConv(cin if i == 0 else cout, cout, k, stride if i == 0 else 1,
                                     expand))
            feats.append(nn.Sequential(*blocks))
        last_in = _divisible(320 * width)
        feats.append(conv_bn_act(last_in, 4 * last_in, 1))
        self.features = nn.Sequential(*feats)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * last_in, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def efficientnet_b0():
    return EfficientNet(1.0, 1.0, 0.2)


def efficientnet_b1():
    return EfficientNet(1.0, 1.1, 0.2)

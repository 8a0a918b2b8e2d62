"""ResNets: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.

ImageNet ResNet-18/34 (basic blocks) and ResNet-50 (bottlenecks, stride on the 3x3 conv as in the
common torch layout, "ResNet v1.5"), and the CIFAR-10 ResNet-56 of the paper's section 4.2
(3 stages x 9 basic blocks, 16/32/64 channels, parameter-free option-A shortcuts).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv_bn(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, cout, stride=1, shortcut="B"):
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(cin, cout, 3, stride)
        self.conv2, self.bn2 = _conv_bn(cout, cout, 3)
        self.relu = nn.ReLU()
        self.downsample = None
        self.pad_channels = 0
        self.stride = stride
        if stride != 1 or cin != cout:
            if shortcut == "B":
                self.downsample = nn.Sequential(*_conv_bn(cin, cout, 1, stride))
            else:
                # option A: subsample and zero-pad channels, no parameters
                self.pad_channels = cout - cin

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        elif self.stride != 1 or self.pad_channels:
            identity = option_a_shortcut(x, self.stride, self.pad_channels)
        return self.relu(out + identity)


@torch.fx.wrap
def option_a_shortcut(x, stride: int, pad_channels: int):
    """Data movement only (strided subsample + zero channels): no layer in a trace."""
    x = x[:, :, ::stride, ::stride]
    half = pad_channels // 2
    return F.pad(x, (0, 0, 0, 0, half, pad_channels - half))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride=1, shortcut="B"):
        super().__init__()
        cout = width * 4
        self.conv1, self.bn1 = _conv_bn(cin, width, 1)
        self.conv2, self.bn2 = _conv_bn(width, width, 3, stride)
        self.conv3, self.bn3 = _conv_bn(width, cout, 1)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(*_conv_bn(cin, cout, 1, stride))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ImageNetResNet(nn.Module):
    def __init__(self, block, depths, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (depth, width) in enumerate(zip(depths, (64, 128, 256, 512))):
            blocks = []
            for j in range(depth):
                stride = 2 if (j == 0 and i > 0) else 1
                blocks.append(block(cin, width, stride))
                cin = width * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class CifarResNet(nn.Module):
    def __init__(self, depth=56, num_classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1, self.bn1 = _conv_bn(3, 16, 3)
        self.relu = nn.ReLU()
        cin = 16
        for i, width in enumerate((16, 32, 64)):
            blocks = []
            for j in range(n):
                stride = 2 if (j == 0 and i > 0) else 1
                blocks.append(BasicBlock(cin, width, stride, shortcut="A"))
                cin = width
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18():
    return ImageNetResNet(BasicBlock, (2, 2, 2, 2))


def resnet34():
    return ImageNetResNet(BasicBlock, (3, 4, 6, 3))


def resnet50():
    return ImageNetResNet(Bottleneck, (3, 4, 6, 3))


def resnet56():
    return CifarResNet(56)

"""The `keras.applications` backbones and where their levels are tapped.

Taps follow the clean-cut rule of `mtlzoo.backbones.stages`: for the
inverted-residual nets mostly the expansion activation feeding the next
strided depthwise convolution (as in the segmentation literature), for
ResNet and DenseNet the block or transition output, for VGG the last
convolution before each pool. ConvNeXt's stem has stride 4: no `"P1"`.
"""

import keras

from mtlzoo.backbones.registry import register_backbone

# name: (keras.applications class, default preprocessing, taps P1..P5).
# A tap is a layer name (its output), "name.input" (the input of that layer,
# where Keras leaves the tap itself unnamed), None (the model output) or "-"
# (no such level).
APPLICATIONS = {
    "mobilenet_v2": (
        "MobileNetV2",
        "tf",
        (
            "block_1_expand_relu",
            "block_3_expand_relu",
            "block_6_expand_relu",
            "block_13_expand_relu",
            "out_relu",
        ),
    ),
    "mobilenet_v3_small": (
        "MobileNetV3Small",
        "none",
        (
            "expanded_conv_depthwise_pad.input",
            "expanded_conv_1_depthwise_pad.input",
            "expanded_conv_3_depthwise_pad.input",
            "expanded_conv_8_depthwise_pad.input",
            None,
        ),
    ),
    "mobilenet_v3_large": (
        "MobileNetV3Large",
        "none",
        (
            "expanded_conv_1_depthwise_pad.input",
            "expanded_conv_3_depthwise_pad.input",
            "expanded_conv_6_depthwise_pad.input",
            "expanded_conv_12_depthwise_pad.input",
            None,
        ),
    ),
    "resnet50": (
        "ResNet50",
        "caffe",
        (
            "conv1_relu",
            "conv2_block3_out",
            "conv3_block4_out",
            "conv4_block6_out",
            "conv5_block3_out",
        ),
    ),
    "resnet50_v2": (
        "ResNet50V2",
        "tf",
        (
            "conv1_conv",
            "conv2_block2_out",
            "conv3_block3_out",
            "conv4_block5_out",
            "post_relu",
        ),
    ),
    "efficientnet_b0": (
        "EfficientNetB0",
        "none",
        (
            "block2a_expand_activation",
            "block3a_expand_activation",
            "block4a_expand_activation",
            "block6a_expand_activation",
            "top_activation",
        ),
    ),
    "efficientnet_v2_b0": (
        "EfficientNetV2B0",
        "none",
        (
            "block1a_project_activation",
            "block2b_add",
            "block4a_expand_activation",
            "block6a_expand_activation",
            "top_activation",
        ),
    ),
    "convnext_tiny": (
        "ConvNeXtTiny",
        "none",
        (
            "-",
            "convnext_tiny_downsampling_block_0.input",
            "convnext_tiny_downsampling_block_1.input",
            "convnext_tiny_downsampling_block_2.input",
            None,
        ),
    ),
    "vgg16": (
        "VGG16",
        "caffe",
        (
            "block2_conv2",
            "block3_conv3",
            "block4_conv3",
            "block5_conv3",
            "block5_pool",
        ),
    ),
    "densenet121": (
        "DenseNet121",
        "torch",
        ("conv1_relu", "pool2_conv", "pool3_conv", "pool4_conv", "relu"),
    ),
}
# Shipped weights used when the ImageNet download fails: (file in
# pretrained/, the preprocessing they were trained with).
FALLBACK_WEIGHTS = {
    "mobilenet_v2": ("mobilenet_v2_imagenet_no_top.weights.h5", "torch"),
}


def application(class_name):
    """A builder for the `keras.applications` class `class_name`."""

    def builder(input_shape, weights):
        model = getattr(keras.applications, class_name)
        return model(
            include_top=False, weights=weights, input_shape=input_shape
        )

    return builder


for _name, (_class, _mode, _taps) in APPLICATIONS.items():
    register_backbone(
        _name,
        application(_class),
        taps=_taps,
        default_preprocessing=_mode,
        min_input_size=32,
        fallback_weights=FALLBACK_WEIGHTS.get(_name),
    )

"""The original img2img-turbo module selection, restated independently of pixel-gan's constants.

src/cyclegan_turbo.py: initialize_unet greps UNet layer names for these patterns; initialize_vae
targets these VAE layers. The full-size layout and convert tests compare pixel-gan against them.
"""

# Written as the original's words, split on spaces: one statement of each list, independent of pixel-gan's.
REFERENCE_UNET_GREP = (  # noqa: SIM905
    "to_k to_q to_v to_out.0 conv conv1 conv2 conv_in conv_shortcut conv_out proj_out proj_in ff.net.2 ff.net.0.proj"
).split()
REFERENCE_VAE_TARGETS = (  # noqa: SIM905
    "conv1 conv2 conv_in conv_shortcut conv conv_out skip_conv_1 skip_conv_2 skip_conv_3 skip_conv_4 "
    "to_k to_q to_v to_out.0"
).split()

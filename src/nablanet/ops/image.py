"""`keras.ops.image`: resizing, affine and perspective transforms, patches, colour spaces, in
Keras's layouts (`data_format="channels_last"` by default).

Images are (batch, height, width, channels) or one unbatched (height, width, channels) image
(channels first with `data_format="channels_first"`). Every op is composed of differentiable
ops (slices, gathers, matmuls, `where`), so results on Tensors carry gradients with respect to
the images, to any order. The conventions are Keras's on the torch backend: half-pixel centres
for `resize` (as `torch.nn.functional.interpolate` with `align_corners=False`), rounding half
to even for nearest sampling, and Keras's fill modes.

>>> from nablanet.ops import image
>>> image.resize(np.arange(4.0).reshape(1, 2, 2, 1), (4, 4))[0, :, :, 0]
array([[0.  , 0.25, 0.75, 1.  ],
       [0.5 , 0.75, 1.25, 1.5 ],
       [1.5 , 1.75, 2.25, 2.5 ],
       [2.  , 2.25, 2.75, 3.  ]])
"""

from nablanet.ops.image_colour import hsv_to_rgb, rgb_to_grayscale, rgb_to_hsv
from nablanet.ops.image_filters import elastic_transform, gaussian_blur, sobel_edges, ssim
from nablanet.ops.image_patches import crop_images, extract_patches, extract_patches_3d, pad_images
from nablanet.ops.image_resize import resize, scale_and_translate
from nablanet.ops.image_sampling import affine_transform, map_coordinates, perspective_transform

__all__ = [
    "affine_transform", "crop_images", "elastic_transform", "extract_patches", "extract_patches_3d",
    "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images", "perspective_transform", "resize",
    "rgb_to_grayscale", "rgb_to_hsv", "scale_and_translate", "sobel_edges", "ssim",
]

"""The MTCNN cascade's parts, one job per module (the detector in `recognition.detector` runs them):

- `pyramid`: the image pyramid's scales and levels, and the square crops the refinement nets take;
- `proposals`: P-Net over every pyramid level → candidate boxes (stage one), batched across images;
- `refine`: R-Net and O-Net over the candidates of all images at once (stages two and three);
- `boxes`: the box arithmetic and non-maximum suppression the stages share.
"""

# mmhornet's default ADE20K model: UPerNet with HorNet-T (GF), 512x512,
# 160k iterations. See upernet_hornet-*.py for the other sizes.
_base_ = ['./upernet_hornet-t-gf_8xb2-160k_ade20k-512x512.py']

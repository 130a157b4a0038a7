# What the two demo configs share: the object classes of the demo scenes
# (mmhornet/demo/scenes.py draws them; a test checks the two agree),
# their colours, and the layout of the small HorNet both train from scratch
# (HorNet-T's at half width and a quarter of the depth; each config adds the
# mixers, GF filters sized for its stage maps).
classes = ('disk', 'rectangle', 'triangle', 'star', 'ring', 'cross')
palette = [(220, 40, 40), (40, 80, 220), (40, 170, 60), (240, 200, 20),
           (170, 40, 200), (20, 200, 200)]
demo_arch = dict(base_dim=32, depths=[1, 1, 3, 1], orders=[2, 3, 4, 5])
demo_norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN needs CUDA
# Seeded: the same seed gives the same run on a CPU (tools/demo.py --seed N
# sets another). Deterministic algorithms are CUDA's concern; the CPU
# kernels these models use are deterministic already.
randomness = dict(seed=0, deterministic=False)

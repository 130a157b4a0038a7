"""Optimizer-wrapper constructors (layer-wise / stage-wise lr decay)."""
from .optim_constructor import LearningRateDecayOptimWrapperConstructor

__all__ = ['LearningRateDecayOptimWrapperConstructor']

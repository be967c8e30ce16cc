"""Tricks: attachments of the training loop, each chosen from the config by ``class_path``
(``model.init_args.tricks``, ``model.init_args.loss`` for label smoothing,
``model.init_args.q_augment`` for InfoGAN, ``trainer.callbacks`` for G's moving average).
:mod:`ganzoo.tricks.base` says what a trick may hook into."""

from ganzoo.tricks.base import Step, Trick, config_of
from ganzoo.tricks.d_augment import DAugment
from ganzoo.tricks.d_weight_penalty import DWeightPenalty
from ganzoo.tricks.g_ema import GeneratorEMA
from ganzoo.tricks.instance_noise import InstanceNoise
from ganzoo.tricks.label_smoothing import LabelSmoothing
from ganzoo.tricks.minibatch_features import MinibatchFeatures
from ganzoo.tricks.q_augment import QAugment
from ganzoo.tricks.real_consistency import RealConsistency
from ganzoo.tricks.real_info import RealInfo
from ganzoo.tricks.reuse_fake import ReuseFake

__all__ = ["DAugment", "DWeightPenalty", "GeneratorEMA", "InstanceNoise", "LabelSmoothing",
           "MinibatchFeatures", "QAugment", "RealConsistency", "RealInfo", "ReuseFake", "Step",
           "Trick", "config_of"]

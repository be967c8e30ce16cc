"""Evaluation: feature extractors, FID / IS / KID (torchmetrics), model-specific metrics,
and the Lightning callbacks that run them and write sample grids.

Public names:
    EvaluationCallback, SampleGridCallback   Lightning callbacks
    evaluate, Evaluator                      one evaluation, inside or outside a Trainer
    build_extractor, extract, to_uint8       extractors ("domain", "inception", "autoencoder")
    InceptionExtractor, DomainExtractor, DomainClassifier, AutoencoderExtractor
    frechet_distance, inception_score, kernel_distance   torchmetrics on features
    real_features                            cached real-data features
    plan_for, EvalPlan                       which metrics apply to a model/data pair
"""

from ganzoo.metrics.autoencoder import AutoencoderExtractor
from ganzoo.metrics.callbacks import EvaluationCallback, SampleGridCallback
from ganzoo.metrics.domain import DomainClassifier, DomainExtractor
from ganzoo.metrics.evaluate import Evaluator, evaluate
from ganzoo.metrics.extractor_registry import build_extractor
from ganzoo.metrics.extractors import FeatureExtractor, extract, to_uint8
from ganzoo.metrics.fidelity import frechet_distance, inception_score, kernel_distance
from ganzoo.metrics.inception import InceptionExtractor, InceptionWeightsNotFoundError
from ganzoo.metrics.plan import EvalPlan, plan_for
from ganzoo.metrics.real_stats import real_features

__all__ = [
    "AutoencoderExtractor",
    "DomainClassifier",
    "DomainExtractor",
    "EvalPlan",
    "EvaluationCallback",
    "Evaluator",
    "FeatureExtractor",
    "InceptionExtractor",
    "InceptionWeightsNotFoundError",
    "SampleGridCallback",
    "build_extractor",
    "evaluate",
    "extract",
    "frechet_distance",
    "inception_score",
    "kernel_distance",
    "plan_for",
    "real_features",
    "to_uint8",
]

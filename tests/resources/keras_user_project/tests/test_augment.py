import pytest
from keras.preprocessing.image import ImageDataGenerator

pytestmark = pytest.mark.keras_compat


def test_augments():
    assert ImageDataGenerator(horizontal_flip=True) is not None

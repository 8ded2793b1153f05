import pytest
from keras.preprocessing.image import ImageDataGenerator

pytestmark = pytest.mark.keras_compat


def test_builds_an_image_data_generator():
    assert ImageDataGenerator(horizontal_flip=True) is not None

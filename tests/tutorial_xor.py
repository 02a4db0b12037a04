# The tutorial's program, as the tests' own reference: its three code listings
# ("load data", "model", "train and test functions" + "run"), written out from the
# tutorial's text, with the lines its experiments change made switchable:
#
#   python tests/tutorial_xor.py SEED|none [sigmoid|tanh|relu] [default|uniform] [nocenter|center] [LR] [EPOCHS]
#
# SEED seeds Python's random at the top of the file ("the random seed can be set at
# the top of the file") and torch where the listing has `# torch.manual_seed(42)`.
# Everything else is the listing as printed: the same statements in the same order,
# so that it draws the same random numbers and runs the same float32 kernels. Its
# stdout is what `xorlab train --verbose` must print, byte for byte, on the machine
# that runs both (PyTorch's rounding depends on the CPU's vector unit).
import sys

SEED = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "none" else None
ACT = sys.argv[2] if len(sys.argv) > 2 else "sigmoid"
UNIFORM_INIT = len(sys.argv) > 3 and sys.argv[3] == "uniform"  # Experiment 2's four lines
CENTER = len(sys.argv) > 4 and sys.argv[4] == "center"  # Experiment 3's three lines
LR = float(sys.argv[5]) if len(sys.argv) > 5 else 0.01  # Experiment 5's learning rate
NEPOCHS = int(sys.argv[6]) if len(sys.argv) > 6 else 100
################################################################################
# load data
import random
import numpy as np

if SEED is not None:
    random.seed(SEED)


def make_data():
    x1 = random.randint(0, 1)
    x2 = random.randint(0, 1)
    yy = 0 if (x1 == x2) else 1
    if CENTER:
        x1 = 2. * (x1 - 0.5)
        x2 = 2. * (x2 - 0.5)
        yy = 2. * (yy - 0.5)
    # add noise
    x1 += 0.1 * random.random()
    x2 += 0.1 * random.random()
    yy += 0.1 * random.random()
    return [x1, x2, ], yy


batch_size = 10


def make_batch():
    data = [make_data() for ii in range(batch_size)]
    labels = [label for xx, label in data]
    data = [xx for xx, label in data]
    return np.array(data, dtype='float32'), np.array(labels, dtype='float32')


print(make_batch())
print(make_batch())
print(make_batch())
train_data = [make_batch() for ii in range(500)]
test_data = [make_batch() for ii in range(50)]
################################################################################
# model
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.autograd import Variable

if SEED is not None:
    torch.manual_seed(SEED)
# Experiment 1 replaces F.sigmoid in forward() with another activation.
ACTIVATION = {"sigmoid": F.sigmoid, "tanh": F.tanh, "relu": F.relu}[ACT]


class NN(nn.Module):
    def __init__(self):
        super(NN, self).__init__()
        self.dense1 = nn.Linear(2, 2)
        self.dense2 = nn.Linear(2, 1)
        print(self.dense1.weight)
        print(self.dense1.bias)
        print(self.dense2.weight)
        print(self.dense2.bias)
        if UNIFORM_INIT:
            self.dense1.weight.data.uniform_(-1.0, 1.0)
            self.dense1.bias.data.uniform_(-1.0, 1.0)
            self.dense2.weight.data.uniform_(-1.0, 1.0)
            self.dense2.bias.data.uniform_(-1.0, 1.0)

    def forward(self, x):
        x = ACTIVATION(self.dense1(x))
        x = self.dense2(x)
        return torch.squeeze(x)


model = NN()
## optimizer = stochastic gradient descent
optimizer = optim.SGD(model.parameters(), lr=LR)
################################################################################
# train and test functions
def train(epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_data):
        data, target = Variable(torch.from_numpy(data)), Variable(torch.from_numpy(target))
        optimizer.zero_grad()
        output = model(data)
        loss = F.mse_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 100 == 0:
            print('Train Epoch: {} {}\tLoss: {:.4f}'.format(epoch, batch_idx * len(data), loss.item()))


def test():
    model.eval()
    test_loss = 0
    correct = 0
    for data, target in test_data:
        data, target = Variable(torch.from_numpy(data), volatile=True), Variable(torch.from_numpy(target))
        output = model(data)
        test_loss += F.mse_loss(output, target)
        correct += (np.around(output.data.numpy()) == np.around(target.data.numpy())).sum()
    test_loss /= len(test_data)
    test_loss = test_loss.item()
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.2f}%)\n'.format(test_loss, correct, batch_size * len(test_data), 100. * correct / (batch_size * len(test_data))) )
################################################################################
# run
nepochs = NEPOCHS
for epoch in range(1, nepochs + 1):
    train(epoch)
    test()

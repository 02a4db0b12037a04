# The tutorial's program, as the tests' own reference: its three code listings
# ("load data", "model", "train and test functions" + "run"), written out from the
# tutorial's text, with the lines its experiments change made switchable:
#
#   python tests/tutorial_xor.py SEED|none [sigmoid|tanh|relu] [default|uniform] [nocenter|center] [LR] [EPOCHS]
#                                [sgd|momentum|nesterov|adam] [MOMENTUM] [BATCH_SIZE] [NOISE] [WEIGHT_DECAY] [LAYERS]
#
# SEED seeds Python's random at the top of the file ("the random seed can be set at
# the top of the file") and torch where the listing has `# torch.manual_seed(42)`.
# Everything else is the listing as printed: the same statements in the same order,
# so that it draws the same random numbers and runs the same float32 kernels. Its
# stdout is what `xorlab train --verbose` must print, byte for byte, on the machine
# that runs both (PyTorch's rounding depends on the CPU's vector unit).
#
# The last six arguments are the changes a user would make to try another optimizer,
# batch size, noise, weight decay or depth; at their defaults the program is the
# tutorial's. A batch size other than 10 re-cuts the same 5,000 training examples, in
# order, into batches of that size (as a DataLoader without drop_last would); the test
# batches stay the tutorial's.
import sys

SEED = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "none" else None
ACT = sys.argv[2] if len(sys.argv) > 2 else "sigmoid"
UNIFORM_INIT = len(sys.argv) > 3 and sys.argv[3] == "uniform"  # Experiment 2's four lines
CENTER = len(sys.argv) > 4 and sys.argv[4] == "center"  # Experiment 3's three lines
LR = float(sys.argv[5]) if len(sys.argv) > 5 else 0.01  # Experiment 5's learning rate
NEPOCHS = int(sys.argv[6]) if len(sys.argv) > 6 else 100
OPTIMIZER = sys.argv[7] if len(sys.argv) > 7 else "sgd"
MOMENTUM = float(sys.argv[8]) if len(sys.argv) > 8 else 0.9
TRAIN_BATCH_SIZE = int(sys.argv[9]) if len(sys.argv) > 9 else 10
NOISE = float(sys.argv[10]) if len(sys.argv) > 10 else 0.1
WEIGHT_DECAY = float(sys.argv[11]) if len(sys.argv) > 11 else 0.0
LAYERS = int(sys.argv[12]) if len(sys.argv) > 12 else 1
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
    x1 += NOISE * random.random()
    x2 += NOISE * random.random()
    yy += NOISE * random.random()
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
if TRAIN_BATCH_SIZE != batch_size:
    train_x = np.concatenate([xx for xx, yy in train_data])
    train_y = np.concatenate([yy for xx, yy in train_data])
    train_data = [(train_x[ii:ii + TRAIN_BATCH_SIZE], train_y[ii:ii + TRAIN_BATCH_SIZE])
                  for ii in range(0, len(train_x), TRAIN_BATCH_SIZE)]
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
        if LAYERS == 1:
            self.dense2 = nn.Linear(2, 1)
        if LAYERS == 2:
            self.dense2 = nn.Linear(2, 2)
            self.dense3 = nn.Linear(2, 1)
        if LAYERS == 3:
            self.dense2 = nn.Linear(2, 2)
            self.dense3 = nn.Linear(2, 2)
            self.dense4 = nn.Linear(2, 1)
        print(self.dense1.weight)
        print(self.dense1.bias)
        print(self.dense2.weight)
        print(self.dense2.bias)
        if LAYERS >= 2:
            print(self.dense3.weight)
            print(self.dense3.bias)
        if LAYERS == 3:
            print(self.dense4.weight)
            print(self.dense4.bias)
        if UNIFORM_INIT:
            self.dense1.weight.data.uniform_(-1.0, 1.0)
            self.dense1.bias.data.uniform_(-1.0, 1.0)
            self.dense2.weight.data.uniform_(-1.0, 1.0)
            self.dense2.bias.data.uniform_(-1.0, 1.0)
            if LAYERS >= 2:
                self.dense3.weight.data.uniform_(-1.0, 1.0)
                self.dense3.bias.data.uniform_(-1.0, 1.0)
            if LAYERS == 3:
                self.dense4.weight.data.uniform_(-1.0, 1.0)
                self.dense4.bias.data.uniform_(-1.0, 1.0)

    def forward(self, x):
        x = ACTIVATION(self.dense1(x))
        if LAYERS == 1:
            x = self.dense2(x)
        if LAYERS == 2:
            x = ACTIVATION(self.dense2(x))
            x = self.dense3(x)
        if LAYERS == 3:
            x = ACTIVATION(self.dense2(x))
            x = ACTIVATION(self.dense3(x))
            x = self.dense4(x)
        return torch.squeeze(x)


model = NN()
## optimizer = stochastic gradient descent
if OPTIMIZER == "sgd" and WEIGHT_DECAY == 0:
    optimizer = optim.SGD(model.parameters(), lr=LR)
if OPTIMIZER == "sgd" and WEIGHT_DECAY != 0:
    optimizer = optim.SGD(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
if OPTIMIZER == "momentum":
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
if OPTIMIZER == "nesterov":
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
if OPTIMIZER == "adam":
    optimizer = optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
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
